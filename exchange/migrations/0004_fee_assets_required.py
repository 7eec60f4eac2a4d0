from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        ("exchange", "0003_fee_token"),
    ]

    operations = [
        migrations.AlterField(
            model_name="trade",
            name="buyer_fee_asset",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="wallets.asset"),
        ),
        migrations.AlterField(
            model_name="trade",
            name="seller_fee_asset",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="wallets.asset"),
        ),
    ]
