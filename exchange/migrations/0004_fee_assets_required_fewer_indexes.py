# The fee assets become required (0003 filled them), the hot tables lose the indexes the
# composite ones already serve (every order, trade and entry writes each index it has), and
# klines keep their first and last trade ids (the 24h ticker's F and L).
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("exchange", "0003_fee_token"),
        ("wallets", "0002_chains_deposits_withdrawals_payouts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='enginecommand',
            name='market',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='commands', to='exchange.market'),
        ),
        migrations.AlterField(
            model_name='order',
            name='market',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='exchange.market'),
        ),
        migrations.AlterField(
            model_name='order',
            name='reserved_asset',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallets.asset'),
        ),
        migrations.AlterField(
            model_name='order',
            name='status',
            field=models.CharField(choices=[('PENDING_NEW', 'Accepted'), ('NEW', 'Open'), ('PARTIALLY_FILLED', 'Partially filled'), ('FILLED', 'Filled'), ('CANCELED', 'Cancelled'), ('REJECTED', 'Rejected'), ('EXPIRED', 'Expired'), ('EXPIRED_IN_MATCH', 'Expired (self-trade prevention)')], default='PENDING_NEW', max_length=18),
        ),
        migrations.AlterField(
            model_name='order',
            name='user',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='trade',
            name='buyer_fee_asset',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallets.asset'),
        ),
        migrations.AlterField(
            model_name='trade',
            name='market',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='trades', to='exchange.market'),
        ),
        migrations.AlterField(
            model_name='trade',
            name='seller_fee_asset',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wallets.asset'),
        ),
            migrations.AddField(
            model_name='kline',
            name='first_trade_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='kline',
            name='last_trade_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
