"""Reading uploads into a dataset: encodings, delimiters, aliases, line numbers."""

import pytest

from contacts.importing.columns import HeaderError
from contacts.importing.reading import UnreadableFile
from contacts.resources import ContactCsvFormat


def read(content: bytes):
    return ContactCsvFormat().create_dataset(content)


def test_french_headers_become_field_names_when_aliases_are_used():
    dataset = read("Courriel;Prénom;Nom;Ville\nann@example.com;Ann;Lee;Nice\n".encode("cp1252"))

    assert dataset.headers == ["email", "first_name", "last_name", "Ville"]
    assert dataset[0] == ("ann@example.com", "Ann", "Lee", "Nice")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_accents_survive_when_file_uses_a_common_encoding(encoding):
    dataset = read("E-mail\tPrénom\r\nzoe@example.com\tZoé\r\n".encode(encoding))

    assert dataset.dict == [{"email": "zoe@example.com", "first_name": "Zoé"}]


def test_rows_know_their_line_in_the_file_when_blank_and_multiline_rows_exist():
    content = b'email,note\n\na@example.com,"two\nlines"\nb@example.com,x\n'

    dataset = read(content)

    assert dataset.lines == [3, 5]


def test_short_rows_are_padded_when_trailing_cells_are_missing():
    dataset = read(b"email,first_name,last_name\na@example.com\n")

    assert dataset[0] == ("a@example.com", "", "")


def test_duplicate_headers_stay_distinct_when_a_file_repeats_a_column():
    dataset = read(b"Email,email,Notes,Notes\na@example.com,b@example.com,1,2\n")

    assert dataset.headers == ["email", "email (2)", "Notes", "Notes (2)"]


def test_reading_fails_with_a_clear_message_when_there_is_no_email_column():
    with pytest.raises(HeaderError, match="no e-mail column"):
        read(b"name,phone\nAnn,0612\n")


def test_reading_fails_with_a_clear_message_when_file_is_a_spreadsheet():
    with pytest.raises(UnreadableFile, match="save it as CSV"):
        read(b"PK\x03\x04rest-of-a-zip")
