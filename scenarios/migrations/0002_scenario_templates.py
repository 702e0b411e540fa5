"""The scenario templates of the catalogue. Idempotent: each template is written by its slug
(a re-run brings it back to this definition); reversed by deleting those slugs."""

from django.db import migrations

SITE = "https://www.example.com"
STAY_SUBSCRIBED_URL = f"{SITE}/rester-abonne?utm_source=relance&utm_campaign=vous-nous-manquez"

GOOD_HOUR = {"start": "10:00", "end": "12:00", "weekdays": [0, 1, 2, 3, 4]}


def _block(key, kind, name, config=None, next=None, campaign=None):
    block = {"key": key, "kind": kind, "name": name, "config": config or {}, "next": next or {}}
    if campaign:
        block["campaign"] = campaign
    return block


def _entry(segment_slug, next_key):
    return _block(
        "entry",
        "entry",
        "Entrée dans le segment",
        {"segment_slug": segment_slug, "reentry": "never", "reentry_days": 0},
        {"next": next_key},
    )


def _end(key, outcome, name):
    return _block(key, "end", name, {"outcome": outcome})


def _email(name, subject, preheader, html_body, text_body):
    return {
        "name": name,
        "channel": "email",
        "subject": subject,
        "preheader": preheader,
        "html_body": html_body,
        "text_body": text_body,
        "sms_text": "",
    }


def _sms(name, sms_text):
    return {
        "name": name,
        "channel": "sms",
        "subject": "",
        "preheader": "",
        "html_body": "",
        "text_body": "",
        "sms_text": sms_text,
    }


FOOTER_HTML = (
    '<p style="font-size:12px;color:#777">Vous recevez cet e-mail car vous êtes inscrit(e) à '
    "notre newsletter. "
    '<a href="{{ unsubscribe_url }}">Se désinscrire</a></p>'
)
FOOTER_TEXT = "Se désinscrire : {{ unsubscribe_url }}"

INACTIVITY = {
    "slug": "inactivity",
    "name": "Inactivity",
    "category": "essentials",
    "is_enabled": True,
    "position": 10,
    "description": (
        "Relancez les profils entrés dans le segment « Inactifs » : une répartition A/B entre "
        "SMS et e-mail indique quel canal les réactive le mieux ; sans clic dans l'e-mail sous "
        "14 jours, le profil est ajouté à un canal générique (audience publicitaire) avant "
        "d'être laissé de côté. Un bloc d'attente place chaque envoi entre 10 h et 12 h en "
        "semaine, les segments n'étant recalculés que toutes les 12 heures."
    ),
    "graph": {
        "blocks": [
            _entry("inactive", "split"),
            _block(
                "split",
                "split",
                "Répartition A/B : SMS ou e-mail",
                {"weights": {"a": 50, "b": 50}, "control_percent": 0},
                {"a": "wait-sms", "b": "wait-email"},
            ),
            _block(
                "wait-sms", "wait_until", "Attendre une heure propice", GOOD_HOUR, {"next": "sms"}
            ),
            _block(
                "sms",
                "send_sms",
                "SMS de réactivation",
                {},
                {"next": "end-sms"},
                "sms-reactivation",
            ),
            _end("end-sms", "let go", "Fin (SMS envoyé)"),
            _block(
                "wait-email",
                "wait_until",
                "Attendre une heure propice",
                GOOD_HOUR,
                {"next": "email"},
            ),
            _block(
                "email",
                "send_email",
                "E-mail de réactivation",
                {},
                {"next": "click"},
                "email-reactivation",
            ),
            _block(
                "click",
                "wait_for_click",
                "Clic dans l'e-mail ?",
                {"block": "email", "timeout_days": 14},
                {"clicked": "end-reactivated", "timeout": "generic"},
            ),
            _end("end-reactivated", "reactivated", "Réactivé"),
            _block(
                "generic",
                "generic_channel",
                "Ajout au canal générique",
                {"channel": "Audience publicitaire réseaux sociaux"},
                {"next": "end-let-go"},
            ),
            _end("end-let-go", "let go", "Fin (sans réaction)"),
        ],
        "campaigns": {
            "sms-reactivation": _sms(
                "SMS de réactivation",
                "{{ first_name }}, ça fait longtemps ! -15 % sur votre prochaine commande avec le "
                "code RETOUR15 sur example.com. STOP au 36111",
            ),
            "email-reactivation": _email(
                "E-mail de réactivation",
                "{{ first_name }}, on vous a gardé une surprise",
                "-15 % sur votre prochaine commande, rien que pour vous.",
                "<p>Bonjour {{ first_name }},</p>"
                "<p>Cela fait un moment que nous n'avons pas eu de vos nouvelles. Pour fêter "
                "votre retour, profitez de <strong>15 % de réduction</strong> sur votre prochaine "
                "commande avec le code <strong>RETOUR15</strong>.</p>"
                f'<p><a href="{SITE}/nouveautes?utm_source=relance&utm_campaign=reactivation">'
                "Découvrir les nouveautés</a></p>"
                "<p>À très bientôt,<br>L'équipe</p>" + FOOTER_HTML,
                "Bonjour {{ first_name }},\n\nCela fait un moment que nous n'avons pas eu de vos "
                "nouvelles. Pour fêter votre retour, profitez de 15 % de réduction sur votre "
                "prochaine commande avec le code RETOUR15.\n\n"
                f"Découvrir les nouveautés : {SITE}/nouveautes?utm_source=relance\n\n"
                "À très bientôt,\nL'équipe\n\n" + FOOTER_TEXT,
            ),
        },
    },
}

WE_MISS_YOU = {
    "slug": "we-miss-you",
    "name": "We miss you",
    "category": "essentials",
    "is_enabled": True,
    "position": 20,
    "description": (
        "Une dernière relance « Vous nous manquez » : le profil clique pour rester abonné "
        "(il est alors étiqueté « reactive » et son score augmente), sinon, après 14 jours, "
        "il est désabonné des e-mails pour inactivité."
    ),
    "graph": {
        "blocks": [
            _entry("inactive", "wait"),
            _block(
                "wait", "wait_until", "Attendre une heure propice", GOOD_HOUR, {"next": "email"}
            ),
            _block(
                "email",
                "send_email",
                "E-mail « Vous nous manquez »",
                {},
                {"next": "click"},
                "we-miss-you",
            ),
            _block(
                "click",
                "wait_for_click",
                "Clic sur « Rester abonné » ?",
                {"url": STAY_SUBSCRIBED_URL, "timeout_days": 14},
                {"clicked": "tag", "timeout": "unsubscribe"},
            ),
            _block(
                "tag",
                "tag",
                "Étiqueter « reactive »",
                {"tag": "reactive", "action": "add"},
                {"next": "score"},
            ),
            _block("score", "score", "Score +10", {"delta": 10}, {"next": "end-reactivated"}),
            _end("end-reactivated", "reactivated", "Reste abonné"),
            _block(
                "unsubscribe",
                "unsubscribe",
                "Désabonner des e-mails",
                {"channel": "email", "reason": "inactivity"},
                {"next": "end-unsubscribed"},
            ),
            _end("end-unsubscribed", "unsubscribed", "Désabonné"),
        ],
        "campaigns": {
            "we-miss-you": _email(
                "Vous nous manquez",
                "{{ first_name }}, vous nous manquez",
                "Un clic pour rester abonné(e) à nos e-mails.",
                "<p>Bonjour {{ first_name }},</p>"
                "<p>Nous avons remarqué que vous n'ouvrez plus nos e-mails. Pour ne pas encombrer "
                "votre boîte, nous arrêterons de vous écrire dans 14 jours.</p>"
                "<p>Vous souhaitez continuer à recevoir nos nouveautés et nos offres ?</p>"
                f'<p><a href="{STAY_SUBSCRIBED_URL}" style="background:#0a7;color:#fff;'
                'padding:10px 18px;text-decoration:none;border-radius:4px">'
                "Je reste abonné(e)</a></p>"
                "<p>Merci de votre fidélité,<br>L'équipe</p>" + FOOTER_HTML,
                "Bonjour {{ first_name }},\n\nNous avons remarqué que vous n'ouvrez plus nos "
                "e-mails. Pour ne pas encombrer votre boîte, nous arrêterons de vous écrire dans "
                "14 jours.\n\nPour rester abonné(e), cliquez ici : "
                f"{STAY_SUBSCRIBED_URL}\n\nMerci de votre fidélité,\nL'équipe\n\n" + FOOTER_TEXT,
            ),
        },
    },
}

PURCHASED_LAST_7_DAYS = {
    "match": "all",
    "conditions": [{"field": "last_purchase_at", "operator": "within", "value": 7, "unit": "days"}],
}

LOYALTY_EXPIRY = {
    "slug": "loyalty-expiry",
    "name": "Loyalty points expiry",
    "category": "essentials",
    "is_enabled": True,
    "position": 30,
    "description": (
        "Les points de fidélité du profil expirent bientôt : un e-mail lui rappelle son solde "
        "et la date d'expiration ; sans achat sous 7 jours, un SMS de rappel crée l'urgence."
    ),
    "graph": {
        "blocks": [
            _entry("loyalty-expiring", "email"),
            _block(
                "email",
                "send_email",
                "E-mail de rappel des points",
                {},
                {"next": "wait"},
                "loyalty-email",
            ),
            _block(
                "wait",
                "wait",
                "Attendre 7 jours",
                {"days": 7, "hours": 0, "minutes": 0},
                {"next": "purchased"},
            ),
            _block(
                "purchased",
                "condition",
                "Achat depuis l'entrée ?",
                {"rule": PURCHASED_LAST_7_DAYS},
                {"yes": "end-reactivated", "no": "sms"},
            ),
            _end("end-reactivated", "reactivated", "A acheté"),
            _block("sms", "send_sms", "SMS de rappel", {}, {"next": "end-let-go"}, "loyalty-sms"),
            _end("end-let-go", "let go", "Fin (sans achat)"),
        ],
        "campaigns": {
            "loyalty-email": _email(
                "Rappel : vos points de fidélité expirent",
                "{{ first_name }}, vos {{ loyalty_points }} points expirent bientôt",
                'Utilisez-les avant le {{ loyalty_points_expire_on|date:"d/m/Y" }}.',
                "<p>Bonjour {{ first_name }},</p>"
                "<p>Vous avez <strong>{{ loyalty_points }} points</strong> de fidélité, qui "
                'expireront le <strong>{{ loyalty_points_expire_on|date:"d/m/Y" }}</strong>.</p>'
                "<p>Un achat avant cette date prolonge leur validité d'un an : ne les laissez "
                "pas filer !</p>"
                f'<p><a href="{SITE}/fidelite?utm_source=relance&utm_campaign=points">'
                "Utiliser mes points</a></p>"
                "<p>L'équipe</p>" + FOOTER_HTML,
                "Bonjour {{ first_name }},\n\nVous avez {{ loyalty_points }} points de fidélité, "
                'qui expireront le {{ loyalty_points_expire_on|date:"d/m/Y" }}.\n'
                "Un achat avant cette date prolonge leur validité d'un an.\n\n"
                f"Utiliser mes points : {SITE}/fidelite?utm_source=relance\n\nL'équipe\n\n"
                + FOOTER_TEXT,
            ),
            "loyalty-sms": _sms(
                "SMS de rappel des points",
                "{{ first_name }}, vos {{ loyalty_points }} points expirent le "
                '{{ loyalty_points_expire_on|date:"d/m/Y" }}. '
                "Utilisez-les sur example.com/fidelite STOP au 36111",
            ),
        },
    },
}

OPENED_LAST_60_DAYS = {
    "match": "all",
    "conditions": [{"field": "last_open_at", "operator": "within", "value": 60, "unit": "days"}],
}

SUNSET = {
    "slug": "progressive-sunset",
    "name": "Progressive sunset",
    "category": "inspiration",
    "is_enabled": False,
    "position": 110,
    "description": (
        "Nettoyage progressif des profils qui n'ont jamais ouvert : deux e-mails à 30 jours "
        "d'intervalle, puis, faute d'ouverture, désabonnement pour inactivité."
    ),
    "graph": {
        "blocks": [
            _entry("never-opened", "email-1"),
            _block("email-1", "send_email", "Premier e-mail", {}, {"next": "wait-1"}, "sunset-1"),
            _block(
                "wait-1",
                "wait",
                "Attendre 30 jours",
                {"days": 30, "hours": 0, "minutes": 0},
                {"next": "email-2"},
            ),
            _block("email-2", "send_email", "Second e-mail", {}, {"next": "wait-2"}, "sunset-2"),
            _block(
                "wait-2",
                "wait",
                "Attendre 30 jours",
                {"days": 30, "hours": 0, "minutes": 0},
                {"next": "opened"},
            ),
            _block(
                "opened",
                "condition",
                "A ouvert ?",
                {"rule": OPENED_LAST_60_DAYS},
                {"yes": "end-reactivated", "no": "unsubscribe"},
            ),
            _end("end-reactivated", "reactivated", "A ouvert"),
            _block(
                "unsubscribe",
                "unsubscribe",
                "Désabonner des e-mails",
                {"channel": "email", "reason": "inactivity"},
                {"next": "end-cleaned"},
            ),
            _end("end-cleaned", "cleaned", "Nettoyé"),
        ],
        "campaigns": {
            "sunset-1": _email(
                "Toujours intéressé(e) ?",
                "{{ first_name }}, toujours intéressé(e) par nos e-mails ?",
                "Dites-nous ce qui vous ferait plaisir.",
                "<p>Bonjour {{ first_name }},</p><p>Vous n'avez encore ouvert aucun de nos "
                "e-mails. Voici nos meilleures ventes du moment, pour faire connaissance.</p>"
                f'<p><a href="{SITE}/meilleures-ventes?utm_source=relance">Voir la sélection</a>'
                "</p>" + FOOTER_HTML,
                "Bonjour {{ first_name }},\n\nVous n'avez encore ouvert aucun de nos e-mails. "
                f"Voici nos meilleures ventes : {SITE}/meilleures-ventes\n\n" + FOOTER_TEXT,
            ),
            "sunset-2": _email(
                "Dernier message",
                "{{ first_name }}, c'est notre dernier message",
                "Sans nouvelle de votre part, nous arrêterons nos envois.",
                "<p>Bonjour {{ first_name }},</p><p>Sans ouverture de votre part, ceci sera "
                "notre dernier e-mail. Nous ne voulons pas encombrer votre boîte.</p>"
                f'<p><a href="{SITE}/?utm_source=relance">Rester en contact</a></p>' + FOOTER_HTML,
                "Bonjour {{ first_name }},\n\nSans ouverture de votre part, ceci sera notre "
                f"dernier e-mail.\n\nRester en contact : {SITE}/\n\n" + FOOTER_TEXT,
            ),
        },
    },
}

WIN_BACK = {
    "slug": "win-back-discount",
    "name": "Win-back with a discount",
    "category": "inspiration",
    "is_enabled": False,
    "position": 120,
    "description": (
        "Reconquête des clients qui n'ont plus acheté depuis un an : un code de réduction par "
        "e-mail, un rappel SMS sans achat sous 10 jours."
    ),
    "graph": {
        "blocks": [
            _entry("lapsed-buyers", "wait"),
            _block(
                "wait", "wait_until", "Attendre une heure propice", GOOD_HOUR, {"next": "email"}
            ),
            _block(
                "email", "send_email", "E-mail -20 %", {}, {"next": "wait-10"}, "win-back-email"
            ),
            _block(
                "wait-10",
                "wait",
                "Attendre 10 jours",
                {"days": 10, "hours": 0, "minutes": 0},
                {"next": "purchased"},
            ),
            _block(
                "purchased",
                "condition",
                "Achat ?",
                {
                    "rule": {
                        "match": "all",
                        "conditions": [
                            {
                                "field": "last_purchase_at",
                                "operator": "within",
                                "value": 10,
                                "unit": "days",
                            }
                        ],
                    }
                },
                {"yes": "end-reactivated", "no": "sms"},
            ),
            _end("end-reactivated", "reactivated", "A acheté"),
            _block("sms", "send_sms", "Rappel SMS", {}, {"next": "end-let-go"}, "win-back-sms"),
            _end("end-let-go", "let go", "Fin (sans achat)"),
        ],
        "campaigns": {
            "win-back-email": _email(
                "Reconquête -20 %",
                "{{ first_name }}, -20 % pour votre retour",
                "Votre code est valable 15 jours.",
                "<p>Bonjour {{ first_name }},</p><p>Cela fait un an que nous ne vous avons pas "
                "vu(e). Voici <strong>20 % de réduction</strong> avec le code "
                "<strong>REVIENS20</strong>, valable 15 jours.</p>"
                f'<p><a href="{SITE}/?utm_source=relance&utm_campaign=win-back">J\'en profite</a>'
                "</p>" + FOOTER_HTML,
                "Bonjour {{ first_name }},\n\nVoici 20 % de réduction avec le code REVIENS20, "
                f"valable 15 jours : {SITE}/\n\n" + FOOTER_TEXT,
            ),
            "win-back-sms": _sms(
                "Rappel SMS -20 %",
                "{{ first_name }}, votre code REVIENS20 (-20 %) expire bientôt : example.com "
                "STOP au 36111",
            ),
        },
    },
}

TEMPLATES = [INACTIVITY, WE_MISS_YOU, LOYALTY_EXPIRY, SUNSET, WIN_BACK]


def install(apps, schema_editor):
    ScenarioTemplate = apps.get_model("scenarios", "ScenarioTemplate")
    db = schema_editor.connection.alias
    for spec in TEMPLATES:
        defaults = {key: value for key, value in spec.items() if key != "slug"}
        existing = ScenarioTemplate.objects.using(db).filter(slug=spec["slug"]).first()
        if existing is not None and existing.is_enabled:
            # An administrator's "Enable" survives a re-run.
            defaults["is_enabled"] = True
        ScenarioTemplate.objects.using(db).update_or_create(slug=spec["slug"], defaults=defaults)


def uninstall(apps, schema_editor):
    ScenarioTemplate = apps.get_model("scenarios", "ScenarioTemplate")
    ScenarioTemplate.objects.using(schema_editor.connection.alias).filter(
        slug__in=[spec["slug"] for spec in TEMPLATES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0001_initial"), ("segments", "0002_builtin_segments")]

    operations = [migrations.RunPython(install, uninstall)]
