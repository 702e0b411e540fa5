"""What the demo base is made of: French names, mailbox providers, towns, sources, lists, tags."""

from dataclasses import dataclass

FEMALE_FIRST_NAMES = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Valérie", "Christine",
    "Sandrine", "Stéphanie", "Céline", "Sophie", "Aurélie", "Julie", "Camille", "Émilie", "Laura",
    "Léa", "Chloé", "Manon", "Emma", "Inès", "Sarah", "Pauline", "Anaïs", "Mathilde", "Lucie",
    "Clémence", "Juliette", "Louise", "Alice", "Jade", "Zoé", "Agathe", "Margaux", "Hélène",
    "Virginie", "Caroline", "Élodie", "Audrey", "Mélanie", "Laetitia", "Marion", "Charlotte",
    "Océane", "Lina", "Rose", "Anna", "Amandine", "Justine", "Nadia", "Yasmine", "Fatima",
    "Brigitte", "Martine", "Monique", "Josiane", "Annie", "Patricia", "Corinne", "Karine",
    "Claire", "Gaëlle", "Solène", "Maëlle", "Noémie", "Estelle", "Morgane", "Coralie", "Ophélie",
)  # fmt: skip

MALE_FIRST_NAMES = (
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Christophe", "Laurent",
    "Frédéric", "Stéphane", "David", "Olivier", "Sébastien", "Julien", "Thomas", "Antoine",
    "Alexandre", "Maxime", "Guillaume", "Romain", "Kévin", "Jérôme", "François", "Éric",
    "Patrick", "Thierry", "Bruno", "Pascal", "Hugo", "Lucas", "Louis", "Gabriel", "Arthur",
    "Jules", "Raphaël", "Léo", "Adam", "Nathan", "Théo", "Paul", "Mathis", "Noah", "Ethan",
    "Baptiste", "Clément", "Quentin", "Benjamin", "Florian", "Vincent", "Mathieu", "Yannick",
    "Cédric", "Damien", "Fabien", "Grégory", "Arnaud", "Benoît", "Bertrand", "Gilles", "Didier",
    "Karim", "Mehdi", "Samir", "Yanis", "Rayan", "Loïc", "Erwan", "Gaël", "Timothée", "Victor",
)  # fmt: skip

LAST_NAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
    "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
    "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud",
    "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal",
    "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix",
    "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet", "Rolland",
    "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "Dupuy", "Guillot", "Hubert", "Berger",
    "Carpentier", "Sanchez", "Dupuis", "Moulin", "Louis", "Deschamps", "Huet", "Vasseur",
    "Perez", "Boucher", "Fleury", "Royer", "Klein", "Jacquet", "Adam", "Paris", "Poirier",
    "Marty", "Aubry", "Guyot", "Carré", "Charles", "Renault", "Charpentier", "Ménard", "Maillard",
    "Baron", "Bertin", "Bailly", "Hervé", "Schneider", "Fernandez", "Le Gall", "Collet", "Léger",
    "Bouvier", "Julien", "Prévost", "Millet", "Perrot", "Daniel", "Le Roux", "Cousin", "Germain",
    "Breton", "Besson", "Langlois", "Rémy", "Le Goff", "Pelletier", "Lévêque", "Perrier",
)  # fmt: skip

# (domain, weight, share of its users reading with Apple Mail, whose Privacy Protection
# prefetches every message and so "opens" it within seconds of delivery).
MAILBOX_PROVIDERS = (
    ("gmail.com", 30, 0.25),
    ("orange.fr", 14, 0.30),
    ("hotmail.fr", 9, 0.25),
    ("free.fr", 8, 0.25),
    ("icloud.com", 7, 0.95),
    ("yahoo.fr", 6, 0.25),
    ("sfr.fr", 5, 0.25),
    ("laposte.net", 5, 0.25),
    ("outlook.fr", 5, 0.25),
    ("wanadoo.fr", 4, 0.20),
    ("live.fr", 3, 0.25),
    ("neuf.fr", 2, 0.20),
    ("bbox.fr", 2, 0.25),
)

TOWNS = (
    ("Paris", 20), ("Marseille", 7), ("Lyon", 7), ("Toulouse", 6), ("Nice", 4), ("Nantes", 5),
    ("Montpellier", 4), ("Strasbourg", 4), ("Bordeaux", 5), ("Lille", 5), ("Rennes", 4),
    ("Reims", 2), ("Toulon", 2), ("Saint-Étienne", 2), ("Le Havre", 2), ("Grenoble", 3),
    ("Dijon", 2), ("Angers", 2), ("Nîmes", 2), ("Clermont-Ferrand", 2), ("Tours", 2),
    ("Limoges", 1), ("Amiens", 1), ("Metz", 1), ("Besançon", 1), ("Perpignan", 1), ("Brest", 1),
    ("Orléans", 2), ("Rouen", 2), ("Caen", 2), ("Nancy", 1), ("Annecy", 1), ("La Rochelle", 1),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """How contacts from one lead source behave.

    `mix` is the share of (engaged, lapsed, never-engaged) contacts; `buyers` the share that
    ever buys; `bounce` the share of addresses that turn out not to exist; `in_store` the share
    of purchases made in a shop rather than online; `bursts` the yearly (month, day, days)
    windows in which most of its sign-ups happen (a contest, a trade fair); `since_days` how
    long ago the source started bringing contacts.
    """

    name: str
    description: str
    weight: int
    mix: tuple[float, float, float]
    buyers: float
    bounce: float
    in_store: float
    bursts: tuple[tuple[int, int, int], ...] = ()
    since_days: int = 3 * 365


SOURCES = (
    SourceProfile(
        "Site web",
        "Formulaire d'inscription à la newsletter du site.",
        30,
        (0.45, 0.33, 0.22),
        buyers=0.45,
        bounce=0.008,
        in_store=0.1,
    ),
    SourceProfile(
        "Boutique",
        "Inscription en caisse, dans nos magasins.",
        20,
        (0.62, 0.28, 0.10),
        buyers=0.85,
        bounce=0.01,
        in_store=0.75,
    ),
    SourceProfile(
        "Jeu concours",
        "Participants à nos jeux concours (été et Noël).",
        17,
        (0.08, 0.22, 0.70),
        buyers=0.10,
        bounce=0.05,
        in_store=0.2,
        bursts=((6, 10, 21), (12, 1, 21)),
    ),
    SourceProfile(
        "Facebook Ads",
        "Formulaires de génération de prospects Facebook.",
        15,
        (0.22, 0.33, 0.45),
        buyers=0.25,
        bounce=0.03,
        in_store=0.1,
        since_days=540,
    ),
    SourceProfile(
        "Partenaire",
        "Fichiers co-registration de nos partenaires.",
        10,
        (0.25, 0.35, 0.40),
        buyers=0.2,
        bounce=0.03,
        in_store=0.2,
    ),
    SourceProfile(
        "Salon",
        "Contacts collectés sur les salons professionnels.",
        8,
        (0.35, 0.35, 0.30),
        buyers=0.3,
        bounce=0.015,
        in_store=0.4,
        bursts=((3, 14, 4), (10, 4, 4)),
    ),
)

# Lists and tags, each a bit in the contact's `lists` / `tags` mask (see plan.py).
LISTS = (
    ("Newsletter", "Lettre d'information hebdomadaire."),
    ("Clients fidèles", "Clients ayant acheté au moins trois fois."),
    ("Participants jeux concours", "Inscrits via un jeu concours."),
    ("Offres partenaires", "Acceptent de recevoir les offres de nos partenaires."),
    ("Salons", "Rencontrés sur un salon."),
)
TAGS = ("acheteur", "vip", "sms-optin", "inscrit-en-magasin", "ile-de-france")
