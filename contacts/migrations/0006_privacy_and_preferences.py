import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0005_lead_source_without_db_constraint"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="erased_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="personal data erased at"
            ),
        ),
        migrations.AddField(
            model_name="contactlist",
            name="is_public",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Contacts see this list (its name and description) on their preference "
                    "page and may join or leave it."
                ),
                verbose_name="shown in the preference centre",
            ),
        ),
        migrations.AlterField(
            model_name="activity",
            name="kind",
            field=models.CharField(
                choices=[
                    ("sent", "E-mail sent"),
                    ("delivered", "E-mail delivered"),
                    ("open", "Open"),
                    ("click", "Click"),
                    ("bounce", "Bounce"),
                    ("complaint", "Complaint"),
                    ("unsubscribe", "Unsubscribe"),
                    ("purchase", "Purchase"),
                    ("visit", "Visit"),
                    ("sms_sent", "SMS sent"),
                    ("sms_click", "SMS click"),
                    ("stay", "Stayed subscribed"),
                    ("preferences", "Preferences changed"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="ErasedAddress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("email", "E-mail"), ("phone", "Phone")],
                        max_length=8,
                        verbose_name="kind",
                    ),
                ),
                ("digest", models.CharField(max_length=64, verbose_name="SHA-256")),
                (
                    "erased_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="erased at"
                    ),
                ),
                (
                    "erased_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="erased by",
                    ),
                ),
            ],
            options={
                "verbose_name": "erased address",
                "verbose_name_plural": "erased addresses",
                "ordering": ["-erased_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("kind", "digest"), name="erased_address_unique")
                ],
            },
        ),
    ]
