"""Demo data of the support desk (manage.py seed_demo calls `desk_seed`): the 14 language queues on
calendars in their regions' time zones with public holidays, the SLA policies, the six categories
named in all 36 languages, canned replies and macros in the support languages, the demo agents'
profiles, and a few demo tickets in several languages (one close to breach, one breached, one
pending, one that fell back to English) so the console is alive on first run.

Idempotent: rows are found by their natural keys and brought back to the seed's values; a demo
ticket is opened once (found again by its customer and subject). Development only."""

from contextlib import contextmanager
from datetime import datetime, time, timedelta
from unittest import mock

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.languages import LANGUAGE_CODES, SUPPORT_LANGUAGES
from support.models import (
    AgentProfile,
    Calendar,
    CalendarInterval,
    CannedReply,
    Priority,
    Queue,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketCategory,
)

HOUR = 3600
ALWAYS = "Support 24/7 (UTC)"
WEEKDAYS, MON_SAT = range(5), range(6)

# queue: (name, time zone, country, [(weekdays, start, end), ...]). Spanish runs 08:00-02:00 Madrid
# time (the interval crosses midnight) so Latin America's afternoon is covered; Arabic works
# Sunday to Thursday; Japanese has a lunch break (two intervals a day). English is 24/7.
QUEUES = {
    "en": ("English", "UTC", "", None),
    "zh": ("中文", "Asia/Shanghai", "CN", [(MON_SAT, time(9), time(21))]),
    "ja": ("日本語", "Asia/Tokyo", "JP", [(WEEKDAYS, time(9), time(12)), (WEEKDAYS, time(13), time(18))]),
    "ko": ("한국어", "Asia/Seoul", "KR", [(WEEKDAYS, time(9), time(18))]),
    "ru": ("Русский", "Europe/Moscow", "RU", [(WEEKDAYS, time(7), time(21)), ([5], time(10), time(16))]),
    "uk": ("Українська", "Europe/Kyiv", "UA", [(WEEKDAYS, time(9), time(18))]),
    "es": ("Español", "Europe/Madrid", "ES", [(WEEKDAYS, time(8), time(2)), ([5], time(10), time(14))]),
    "pt": ("Português", "America/Sao_Paulo", "BR", [(WEEKDAYS, time(8), time(20))]),
    "fr": ("Français", "Europe/Paris", "FR", [(WEEKDAYS, time(9), time(18))]),
    "de": ("Deutsch", "Europe/Berlin", "DE", [(WEEKDAYS, time(8), time(18))]),
    "tr": ("Türkçe", "Europe/Istanbul", "TR", [(WEEKDAYS, time(9), time(18)), ([5], time(10), time(14))]),
    "ar": ("العربية", "Asia/Riyadh", "SA", [([6, 0, 1, 2, 3], time(9), time(17))]),
    "vi": ("Tiếng Việt", "Asia/Ho_Chi_Minh", "VN", [(WEEKDAYS, time(8), time(17)), ([5], time(8), time(12))]),
    "id": ("Bahasa Indonesia", "Asia/Jakarta", "ID", [(WEEKDAYS, time(8), time(17))]),
}
# Unassigned this long, a ticket leaves its language queue for the English one.
FALLBACK_AFTER = timedelta(hours=2)


def _targets(first: dict, next_: dict, resolution: dict, periodic: dict | None = None) -> dict:
    """{priority: {metric: seconds}} from per-priority hours."""
    targets = {}
    for priority in Priority.values:
        targets[priority] = {
            "first_response": first[priority] * HOUR,
            "next_response": next_[priority] * HOUR,
            "resolution": resolution[priority] * HOUR,
        }
        if periodic:
            targets[priority]["periodic_update"] = periodic[priority] * HOUR
    return targets


def _by_priority(low, normal, high, urgent) -> dict:
    return {"low": low, "normal": normal, "high": high, "urgent": urgent}


# 24 h standard first response (business hours of the queue's calendar), 1 h at high priority and
# for VIP; account security and VIP run on the 24/7 calendar.
STANDARD = _targets(_by_priority(48, 24, 1, 1), _by_priority(48, 24, 4, 2), _by_priority(120, 60, 24, 8))
VIP = _targets(_by_priority(1, 1, 1, 1), _by_priority(4, 2, 1, 1), _by_priority(72, 48, 24, 8))
SECURITY = _targets(_by_priority(1, 1, 1, 1), _by_priority(2, 2, 1, 1), _by_priority(48, 24, 12, 8))
RECOVERY = _targets(_by_priority(24, 24, 4, 1), _by_priority(24, 24, 8, 4), _by_priority(336, 336, 168, 72), _by_priority(48, 24, 24, 8))

# (name, position, calendar queue or None for 24/7, filters, targets, warning lead)
POLICIES = [
    ("Account security", 10, None, {"categories": ["account_security"]}, SECURITY, timedelta(minutes=15)),
    ("VIP", 20, None, {"tiers": [1, 2, 3, 4, 5]}, VIP, timedelta(minutes=15)),
    ("Fund recovery", 30, None, {"categories": ["fund_recovery"]}, RECOVERY, timedelta(hours=2)),
    *[
        (f"Standard · {code}", 100 + 10 * i, code, {"queues": [code]}, STANDARD, timedelta(hours=2))
        for i, code in enumerate(c for c in SUPPORT_LANGUAGES if c != "en")
    ],
    ("Standard", 900, None, {}, STANDARD, timedelta(hours=2)),
]

# --- Categories: the name in each of the 36 UI languages (deposit, withdrawal and fund recovery are
# the catalog's own words for them in the wallet pages). -------------------------------------------

CATEGORIES = [
    # slug, default priority, what the new-ticket form offers to link
    ("deposit", Priority.NORMAL, "deposit"),
    ("withdrawal", Priority.NORMAL, "withdrawal"),
    ("trading", Priority.NORMAL, "order"),
    ("account_security", Priority.HIGH, ""),
    ("fund_recovery", Priority.NORMAL, "recovery"),
    ("other", Priority.NORMAL, ""),
]
CATEGORY_NAMES = {
    "en": ("Deposit", "Withdrawal", "Trading", "Account security", "Fund recovery", "Other"),
    "zh-hans": ("充值", "提现", "交易", "账户安全", "资金找回", "其他"),
    "zh-hant": ("入金", "提領", "交易", "帳戶安全", "資金找回", "其他"),
    "ja": ("入金", "出金", "取引", "アカウントのセキュリティ", "資金回収", "その他"),
    "ko": ("입금", "출금", "거래", "계정 보안", "자금 복구", "기타"),
    "ru": ("Депозит", "Вывод", "Торговля", "Безопасность аккаунта", "Восстановление средств", "Другое"),
    "uk": ("Депозит", "Виведення", "Торгівля", "Безпека акаунта", "Відновлення коштів", "Інше"),
    "es": ("Depósito", "Retirada", "Trading", "Seguridad de la cuenta", "Recuperación de fondos", "Otros"),
    "es-419": ("Depósito", "Retiro", "Trading", "Seguridad de la cuenta", "Recuperación de fondos", "Otros"),
    "pt-br": ("Depósito", "Saque", "Negociação", "Segurança da conta", "Recuperação de fundos", "Outros"),
    "pt": ("Depósito", "Levantamento", "Negociação", "Segurança da conta", "Recuperação de fundos", "Outros"),
    "fr": ("Dépôt", "Retrait", "Trading", "Sécurité du compte", "Récupération de fonds", "Autre"),
    "de": ("Einzahlung", "Auszahlung", "Handel", "Kontosicherheit", "Rückholung von Geldern", "Sonstiges"),
    "it": ("Deposito", "Prelievo", "Trading", "Sicurezza dell'account", "Recupero fondi", "Altro"),
    "nl": ("Storting", "Opname", "Handel", "Accountbeveiliging", "Herstel van tegoeden", "Overig"),
    "pl": ("Wpłata", "Wypłata", "Handel", "Bezpieczeństwo konta", "Odzyskiwanie środków", "Inne"),
    "cs": ("Vklad", "Výběr", "Obchodování", "Zabezpečení účtu", "Získání prostředků zpět", "Ostatní"),
    "sk": ("Vklad", "Výber", "Obchodovanie", "Zabezpečenie účtu", "Získanie prostriedkov späť", "Ostatné"),
    "ro": ("Depunere", "Retragere", "Tranzacționare", "Securitatea contului", "Recuperare fonduri", "Altele"),
    "hu": ("Befizetés", "Kifizetés", "Kereskedés", "Fiókbiztonság", "Pénzeszközök visszaszerzése", "Egyéb"),
    "bg": ("Депозит", "Теглене", "Търговия", "Сигурност на акаунта", "Възстановяване на средства", "Друго"),
    "el": ("Κατάθεση", "Ανάληψη", "Συναλλαγές", "Ασφάλεια λογαριασμού", "Ανάκτηση κεφαλαίων", "Άλλο"),
    "sv": ("Insättning", "Uttag", "Handel", "Kontosäkerhet", "Återvinning av medel", "Övrigt"),
    "da": ("Indbetaling", "Udbetaling", "Handel", "Kontosikkerhed", "Tilbagehentning af midler", "Andet"),
    "lv": ("Iemaksa", "Izņemšana", "Tirdzniecība", "Konta drošība", "Līdzekļu atgūšana", "Cits"),
    "lt": ("Įnešimas", "Išėmimas", "Prekyba", "Paskyros sauga", "Lėšų susigrąžinimas", "Kita"),
    "sl": ("Vplačilo", "Dvig", "Trgovanje", "Varnost računa", "Povrnitev sredstev", "Drugo"),
    "tr": ("Para yatırma", "Para çekme", "Alım satım", "Hesap güvenliği", "Varlık kurtarma", "Diğer"),
    "ar": ("إيداع", "سحب", "التداول", "أمان الحساب", "استرداد الأموال", "أخرى"),
    "vi": ("Nạp tiền", "Rút tiền", "Giao dịch", "Bảo mật tài khoản", "Khôi phục tài sản", "Khác"),
    "id": ("Deposit", "Penarikan", "Perdagangan", "Keamanan akun", "Pemulihan dana", "Lainnya"),
    "th": ("การฝาก", "การถอน", "การซื้อขาย", "ความปลอดภัยของบัญชี", "การกู้คืนเงิน", "อื่น ๆ"),
    "ms": ("Deposit", "Pengeluaran", "Dagangan", "Keselamatan akaun", "Pemulihan dana", "Lain-lain"),
    "kk": ("Депозит", "Қаражат шығару", "Сауда", "Аккаунт қауіпсіздігі", "Қаражатты қалпына келтіру", "Басқа"),
    "az": ("Depozit", "Çıxarış", "Ticarət", "Hesab təhlükəsizliyi", "Vəsait bərpası", "Digər"),
    "ur": ("رقم جمع کرانا", "رقم نکلوانا", "ٹریڈنگ", "اکاؤنٹ کی سیکیورٹی", "فنڈز کی ریکوری", "دیگر"),
}

# --- Canned replies and macros: title and body per language column (the 14 support languages; zh,
# es and pt in both of their UI variants). Placeholders: {customer_name} {asset} {amount} {ticket}.

CANNED_REPLIES = [
    {
        "key": "greeting",
        "position": 10,
        "category": None,
        "set_status": "",
        "texts": {
            "en": (
                "Greeting",
                "Hello {customer_name},\n\nThank you for contacting Agora support. I am looking into your request (ticket {ticket}) "
                "now and will get back to you shortly.",
            ),
            "zh-hans": ("问候", "{customer_name}，您好：\n\n感谢您联系 Agora 客服。我正在处理您的请求（工单 {ticket}），会尽快回复您。"),
            "zh-hant": ("問候", "{customer_name}，您好：\n\n感謝您聯絡 Agora 客服。我正在處理您的請求（工單 {ticket}），會盡快回覆您。"),
            "ja": (
                "ごあいさつ",
                "{customer_name} 様\n\nAgora サポートへお問い合わせいただき、ありがとうございます。ただいまお問い合わせ内容"
                "（チケット {ticket}）を確認しております。確認が取れ次第、ご連絡いたします。",
            ),
            "ko": (
                "인사",
                "{customer_name}님, 안녕하세요.\n\nAgora 고객지원에 문의해 주셔서 감사합니다. 지금 문의하신 내용(티켓 {ticket})을 "
                "확인하고 있으며 곧 다시 연락드리겠습니다.",
            ),
            "ru": (
                "Приветствие",
                "Здравствуйте, {customer_name}!\n\nСпасибо, что обратились в поддержку Agora. Я уже занимаюсь вашим запросом "
                "(обращение {ticket}) и скоро вернусь с ответом.",
            ),
            "uk": (
                "Привітання",
                "Вітаємо, {customer_name}!\n\nДякуємо, що звернулися до підтримки Agora. Я вже опрацьовую ваш запит "
                "(звернення {ticket}) і незабаром повернуся з відповіддю.",
            ),
            "es": (
                "Saludo",
                "Hola, {customer_name}:\n\nGracias por contactar con el soporte de Agora. Ya estoy revisando tu solicitud "
                "(ticket {ticket}) y te responderé en breve.",
            ),
            "es-419": (
                "Saludo",
                "Hola, {customer_name}:\n\nGracias por comunicarte con el soporte de Agora. Ya estoy revisando tu solicitud "
                "(ticket {ticket}) y te responderé en breve.",
            ),
            "pt": (
                "Saudação",
                "Olá, {customer_name}.\n\nObrigado por contactar o apoio ao cliente da Agora. Já estou a analisar o seu pedido "
                "(ticket {ticket}) e responderei em breve.",
            ),
            "pt-br": (
                "Saudação",
                "Olá, {customer_name}!\n\nObrigado por entrar em contato com o suporte da Agora. Já estou analisando sua solicitação "
                "(chamado {ticket}) e retorno em breve.",
            ),
            "fr": (
                "Message d'accueil",
                "Bonjour {customer_name},\n\nMerci d'avoir contacté le support d'Agora. J'examine votre demande (ticket {ticket}) "
                "et je reviens vers vous très rapidement.",
            ),
            "de": (
                "Begrüßung",
                "Hallo {customer_name},\n\nvielen Dank, dass Sie sich an den Agora-Support gewandt haben. Ich kümmere mich jetzt "
                "um Ihre Anfrage (Ticket {ticket}) und melde mich in Kürze bei Ihnen.",
            ),
            "tr": (
                "Karşılama",
                "Merhaba {customer_name},\n\nAgora destek ekibiyle iletişime geçtiğiniz için teşekkür ederiz. Talebinizi "
                "(destek kaydı {ticket}) şu anda inceliyorum, en kısa sürede size dönüş yapacağım.",
            ),
            "ar": (
                "تحية",
                "مرحبًا {customer_name}،\n\nشكرًا لتواصلك مع دعم Agora. أعمل الآن على طلبك (التذكرة {ticket}) وسأعود إليك قريبًا.",
            ),
            "vi": (
                "Lời chào",
                "Xin chào {customer_name},\n\nCảm ơn bạn đã liên hệ với bộ phận hỗ trợ Agora. Tôi đang xem xét yêu cầu của bạn "
                "(phiếu hỗ trợ {ticket}) và sẽ phản hồi bạn sớm.",
            ),
            "id": (
                "Salam pembuka",
                "Halo {customer_name},\n\nTerima kasih telah menghubungi dukungan Agora. Saya sedang memeriksa permintaan Anda "
                "(tiket {ticket}) dan akan segera menghubungi Anda kembali.",
            ),
        },
    },
    {
        "key": "withdrawal_review",
        "position": 20,
        "category": "withdrawal",
        "set_status": Ticket.Status.WAITING,
        "texts": {
            "en": (
                "Withdrawal under review",
                "Hello {customer_name},\n\nYour withdrawal of {amount} {asset} is in a routine security review. Most reviews are "
                "finished within a few hours, and we will write to you here as soon as it has been sent. You do not need to do "
                "anything in the meantime.",
            ),
            "zh-hans": (
                "提现审核中",
                "{customer_name}，您好：\n\n您提现的 {amount} {asset} 正在进行例行安全审核。大多数审核会在几个小时内完成，"
                "发出后我们会第一时间在这里通知您。在此期间您无需进行任何操作。",
            ),
            "zh-hant": (
                "提領審核中",
                "{customer_name}，您好：\n\n您提領的 {amount} {asset} 正在進行例行安全審核。大多數審核會在幾個小時內完成，"
                "送出後我們會第一時間在這裡通知您。在此期間您無需進行任何操作。",
            ),
            "ja": (
                "出金審査中",
                "{customer_name} 様\n\nご依頼の {amount} {asset} の出金は、現在通常のセキュリティ審査中です。ほとんどの審査は"
                "数時間以内に完了し、送金が完了しましたらこちらでお知らせいたします。それまでの間、お客様のお手続きは必要ありません。",
            ),
            "ko": (
                "출금 심사 중",
                "{customer_name}님, 안녕하세요.\n\n요청하신 {amount} {asset} 출금은 현재 정기 보안 심사 중입니다. 대부분의 심사는 "
                "몇 시간 안에 완료되며, 전송이 완료되면 이곳에서 바로 알려 드리겠습니다. 그동안 따로 하실 일은 없습니다.",
            ),
            "ru": (
                "Вывод на проверке",
                "Здравствуйте, {customer_name}!\n\nВаш вывод {amount} {asset} проходит плановую проверку безопасности. Обычно она "
                "занимает несколько часов; как только средства будут отправлены, мы сообщим вам здесь. Пока от вас ничего не требуется.",
            ),
            "uk": (
                "Виведення на перевірці",
                "Вітаємо, {customer_name}!\n\nВаше виведення {amount} {asset} проходить планову перевірку безпеки. Зазвичай вона "
                "триває кілька годин; щойно кошти буде надіслано, ми повідомимо вас тут. Наразі від вас нічого не потрібно.",
            ),
            "es": (
                "Retirada en revisión",
                "Hola, {customer_name}:\n\nTu retirada de {amount} {asset} está en una revisión de seguridad rutinaria. La mayoría "
                "de las revisiones terminan en pocas horas y te escribiremos aquí en cuanto se haya enviado. Mientras tanto, no "
                "tienes que hacer nada.",
            ),
            "es-419": (
                "Retiro en revisión",
                "Hola, {customer_name}:\n\nTu retiro de {amount} {asset} está en una revisión de seguridad de rutina. La mayoría "
                "de las revisiones terminan en pocas horas y te escribiremos aquí en cuanto se haya enviado. Mientras tanto, no "
                "tienes que hacer nada.",
            ),
            "pt": (
                "Levantamento em análise",
                "Olá, {customer_name}.\n\nO seu levantamento de {amount} {asset} está numa verificação de segurança de rotina. "
                "A maioria das verificações fica concluída em poucas horas e avisaremos aqui assim que for enviado. Entretanto, "
                "não precisa de fazer nada.",
            ),
            "pt-br": (
                "Saque em análise",
                "Olá, {customer_name}!\n\nSeu saque de {amount} {asset} está em uma análise de segurança de rotina. A maioria das "
                "análises é concluída em poucas horas, e avisaremos aqui assim que ele for enviado. Enquanto isso, você não "
                "precisa fazer nada.",
            ),
            "fr": (
                "Retrait en cours de vérification",
                "Bonjour {customer_name},\n\nVotre retrait de {amount} {asset} fait l'objet d'une vérification de sécurité de "
                "routine. La plupart des vérifications se terminent en quelques heures ; nous vous écrirons ici dès qu'il aura été "
                "envoyé. Vous n'avez rien à faire d'ici là.",
            ),
            "de": (
                "Auszahlung in Prüfung",
                "Hallo {customer_name},\n\nIhre Auszahlung von {amount} {asset} wird gerade routinemäßig auf Sicherheit geprüft. "
                "Die meisten Prüfungen sind innerhalb weniger Stunden abgeschlossen; sobald sie versendet ist, schreiben wir Ihnen "
                "hier. Bis dahin müssen Sie nichts weiter tun.",
            ),
            "tr": (
                "Para çekme incelemede",
                "Merhaba {customer_name},\n\n{amount} {asset} tutarındaki para çekme talebiniz rutin bir güvenlik incelemesinden "
                "geçiyor. İncelemelerin çoğu birkaç saat içinde tamamlanır; gönderim yapılır yapılmaz size buradan haber vereceğiz. "
                "Bu sırada sizin bir şey yapmanıza gerek yok.",
            ),
            "ar": (
                "السحب قيد المراجعة",
                "مرحبًا {customer_name}،\n\nيخضع سحبك البالغ {amount} {asset} لمراجعة أمنية روتينية. تنتهي معظم المراجعات خلال "
                "بضع ساعات، وسنكتب لك هنا فور إرساله. لا تحتاج إلى فعل أي شيء في الوقت الحالي.",
            ),
            "vi": (
                "Lệnh rút tiền đang được xem xét",
                "Xin chào {customer_name},\n\nLệnh rút {amount} {asset} của bạn đang được kiểm tra bảo mật định kỳ. Hầu hết các "
                "lần kiểm tra hoàn tất trong vòng vài giờ và chúng tôi sẽ báo cho bạn tại đây ngay khi giao dịch được gửi đi. "
                "Trong lúc chờ, bạn không cần làm gì thêm.",
            ),
            "id": (
                "Penarikan sedang ditinjau",
                "Halo {customer_name},\n\nPenarikan {amount} {asset} Anda sedang menjalani pemeriksaan keamanan rutin. Sebagian "
                "besar pemeriksaan selesai dalam beberapa jam, dan kami akan mengabari Anda di sini segera setelah dana dikirim. "
                "Sementara itu, Anda tidak perlu melakukan apa pun.",
            ),
        },
    },
    {
        "key": "missing_memo",
        "position": 30,
        "category": "deposit",
        "set_status": Ticket.Status.PENDING,
        "texts": {
            "en": (
                "Deposit without a memo",
                "Hello {customer_name},\n\nYour deposit of {amount} {asset} reached us without the memo (destination tag) our "
                "address needs, so it could not be credited automatically. Please open a fund recovery request for this deposit "
                "from your wallet page. We will quote the recovery fee before anything is done, and nothing is charged unless "
                "you accept it.",
            ),
            "zh-hans": (
                "充值缺少备注（Memo）",
                "{customer_name}，您好：\n\n您充值的 {amount} {asset} 到账时缺少我们地址所需的备注（Memo/标签），因此无法自动入账。"
                "请在钱包页面为这笔充值提交资金找回申请。处理前我们会先报出找回费用，只有在您同意后才会收取。",
            ),
            "zh-hant": (
                "入金缺少備註（Memo）",
                "{customer_name}，您好：\n\n您入金的 {amount} {asset} 到帳時缺少我們地址所需的備註（Memo/標籤），因此無法自動入帳。"
                "請在錢包頁面為這筆入金提交資金找回申請。處理前我們會先報出找回費用，只有在您同意後才會收取。",
            ),
            "ja": (
                "メモ（タグ）なしの入金",
                "{customer_name} 様\n\nご入金いただいた {amount} {asset} に当社アドレスで必要なメモ（宛先タグ）が付いていなかった"
                "ため、自動で反映できませんでした。ウォレットページから、この入金について資金回収のリクエストを作成してください。"
                "お手続きの前に回収手数料をお見積もりし、ご同意いただいた場合にのみ手数料が発生します。",
            ),
            "ko": (
                "메모 누락 입금",
                "{customer_name}님, 안녕하세요.\n\n입금하신 {amount} {asset}에 당사 주소에 필요한 메모(데스티네이션 태그)가 없어 "
                "자동으로 반영되지 않았습니다. 지갑 페이지에서 이 입금에 대한 자금 복구 요청을 제출해 주세요. 진행 전에 복구 "
                "수수료를 먼저 안내해 드리며, 동의하시는 경우에만 수수료가 부과됩니다.",
            ),
            "ru": (
                "Депозит без мемо",
                "Здравствуйте, {customer_name}!\n\nВаш депозит {amount} {asset} поступил без мемо (тега назначения), который нужен "
                "для нашего адреса, поэтому его не удалось зачислить автоматически. Пожалуйста, создайте запрос на восстановление "
                "средств для этого депозита на странице кошелька. Прежде чем что-либо делать, мы сообщим стоимость "
                "восстановления, и плата взимается, только если вы её примете.",
            ),
            "uk": (
                "Депозит без мемо",
                "Вітаємо, {customer_name}!\n\nВаш депозит {amount} {asset} надійшов без мемо (тегу призначення), потрібного для "
                "нашої адреси, тому його не вдалося зарахувати автоматично. Будь ласка, створіть запит на відновлення коштів для "
                "цього депозиту на сторінці гаманця. Перш ніж щось робити, ми повідомимо вартість відновлення, і плата "
                "стягується, лише якщо ви її приймете.",
            ),
            "es": (
                "Depósito sin memo",
                "Hola, {customer_name}:\n\nTu depósito de {amount} {asset} llegó sin el memo (etiqueta de destino) que necesita "
                "nuestra dirección, así que no se pudo abonar automáticamente. Abre una solicitud de recuperación de fondos para "
                "este depósito desde la página de tu cartera. Te indicaremos la comisión de recuperación antes de hacer nada y "
                "solo se cobra si la aceptas.",
            ),
            "es-419": (
                "Depósito sin memo",
                "Hola, {customer_name}:\n\nTu depósito de {amount} {asset} llegó sin el memo (etiqueta de destino) que necesita "
                "nuestra dirección, así que no se pudo acreditar automáticamente. Abre una solicitud de recuperación de fondos "
                "para este depósito desde la página de tu billetera. Te indicaremos la comisión de recuperación antes de hacer "
                "nada y solo se cobra si la aceptas.",
            ),
            "pt": (
                "Depósito sem memo",
                "Olá, {customer_name}.\n\nO seu depósito de {amount} {asset} chegou sem o memo (etiqueta de destino) de que o "
                "nosso endereço precisa, por isso não pôde ser creditado automaticamente. Abra um pedido de recuperação de fundos "
                "para este depósito na página da sua carteira. Indicaremos a comissão de recuperação antes de fazer qualquer "
                "coisa, e só é cobrada se a aceitar.",
            ),
            "pt-br": (
                "Depósito sem memo",
                "Olá, {customer_name}!\n\nSeu depósito de {amount} {asset} chegou sem o memo (tag de destino) que nosso endereço "
                "exige, por isso não pôde ser creditado automaticamente. Abra uma solicitação de recuperação de fundos para este "
                "depósito na página da sua carteira. Informaremos a taxa de recuperação antes de qualquer ação, e ela só é "
                "cobrada se você aceitar.",
            ),
            "fr": (
                "Dépôt sans mémo",
                "Bonjour {customer_name},\n\nVotre dépôt de {amount} {asset} nous est parvenu sans le mémo (tag de destination) "
                "requis par notre adresse : il n'a donc pas pu être crédité automatiquement. Veuillez ouvrir une demande de "
                "récupération de fonds pour ce dépôt depuis la page de votre portefeuille. Nous vous indiquerons les frais de "
                "récupération avant toute opération, et ils ne sont prélevés que si vous les acceptez.",
            ),
            "de": (
                "Einzahlung ohne Memo",
                "Hallo {customer_name},\n\nIhre Einzahlung von {amount} {asset} ist ohne das Memo (Destination-Tag) eingegangen, "
                "das unsere Adresse benötigt, und konnte daher nicht automatisch gutgeschrieben werden. Bitte stellen Sie auf Ihrer "
                "Wallet-Seite für diese Einzahlung einen Antrag auf Rückholung von Geldern. Wir nennen Ihnen die Gebühr, bevor "
                "etwas geschieht, und sie wird nur berechnet, wenn Sie zustimmen.",
            ),
            "tr": (
                "Memosuz para yatırma",
                "Merhaba {customer_name},\n\n{amount} {asset} tutarındaki para yatırma işleminiz, adresimizin gerektirdiği memo "
                "(hedef etiketi) olmadan geldiği için hesabınıza otomatik olarak geçirilemedi. Lütfen cüzdan sayfanızdan bu işlem "
                "için bir varlık kurtarma talebi oluşturun. Herhangi bir işlem yapmadan önce kurtarma ücretini size bildireceğiz; "
                "ücret yalnızca kabul ederseniz alınır.",
            ),
            "ar": (
                "إيداع بدون مذكرة (Memo)",
                "مرحبًا {customer_name}،\n\nوصل إيداعك البالغ {amount} {asset} بدون المذكرة (وسم الوجهة) التي يتطلبها عنواننا، "
                "لذلك تعذّر إضافته إلى رصيدك تلقائيًا. يُرجى فتح طلب استرداد الأموال لهذا الإيداع من صفحة محفظتك. سنخبرك برسوم "
                "الاسترداد قبل القيام بأي إجراء، ولن تُحتسب إلا إذا وافقت عليها.",
            ),
            "vi": (
                "Nạp tiền thiếu memo",
                "Xin chào {customer_name},\n\nKhoản nạp {amount} {asset} của bạn đến mà không có memo (thẻ đích) mà địa chỉ của "
                "chúng tôi yêu cầu, vì vậy không thể ghi có tự động. Vui lòng tạo yêu cầu khôi phục tài sản cho khoản nạp này từ "
                "trang ví của bạn. Chúng tôi sẽ báo phí khôi phục trước khi thực hiện bất kỳ bước nào và chỉ thu phí nếu bạn "
                "đồng ý.",
            ),
            "id": (
                "Deposit tanpa memo",
                "Halo {customer_name},\n\nDeposit {amount} {asset} Anda masuk tanpa memo (tag tujuan) yang dibutuhkan alamat kami, "
                "sehingga tidak dapat dikreditkan secara otomatis. Silakan ajukan permintaan pemulihan dana untuk deposit ini dari "
                "halaman dompet Anda. Kami akan menyampaikan biaya pemulihan sebelum melakukan apa pun, dan biaya hanya dikenakan "
                "jika Anda menyetujuinya.",
            ),
        },
    },
    {
        "key": "solved",
        "position": 40,
        "category": None,
        "set_status": Ticket.Status.SOLVED,
        "texts": {
            "en": (
                "Solved — anything else?",
                "Hello {customer_name},\n\nI have marked ticket {ticket} as solved. If anything else comes up, simply reply to this "
                "message and the ticket will reopen. Thank you for trading with Agora.",
            ),
            "zh-hans": (
                "已解决——还有其他问题吗？",
                "{customer_name}，您好：\n\n我已将工单 {ticket} 标记为已解决。如果还有其他问题，直接回复此消息即可重新打开工单。"
                "感谢您选择 Agora。",
            ),
            "zh-hant": (
                "已解決——還有其他問題嗎？",
                "{customer_name}，您好：\n\n我已將工單 {ticket} 標記為已解決。如果還有其他問題，直接回覆此訊息即可重新開啟工單。"
                "感謝您選擇 Agora。",
            ),
            "ja": (
                "解決済み ― ほかにご不明な点は？",
                "{customer_name} 様\n\nチケット {ticket} を解決済みにいたしました。ほかにお困りのことがございましたら、このメッセージ"
                "にご返信いただければチケットが再開されます。Agora をご利用いただき、ありがとうございます。",
            ),
            "ko": (
                "해결됨 — 더 도와드릴 일이 있을까요?",
                "{customer_name}님, 안녕하세요.\n\n티켓 {ticket}을(를) 해결됨으로 처리했습니다. 다른 문의가 있으시면 이 메시지에 "
                "답장해 주세요. 티켓이 다시 열립니다. Agora를 이용해 주셔서 감사합니다.",
            ),
            "ru": (
                "Решено — чем-нибудь ещё помочь?",
                "Здравствуйте, {customer_name}!\n\nОбращение {ticket} отмечено как решённое. Если появятся другие вопросы, просто "
                "ответьте на это сообщение, и обращение откроется снова. Спасибо, что торгуете на Agora.",
            ),
            "uk": (
                "Вирішено — чи можемо ще чимось допомогти?",
                "Вітаємо, {customer_name}!\n\nЗвернення {ticket} позначено як вирішене. Якщо виникнуть інші питання, просто дайте "
                "відповідь на це повідомлення, і звернення відкриється знову. Дякуємо, що торгуєте на Agora.",
            ),
            "es": (
                "Resuelto: ¿algo más?",
                "Hola, {customer_name}:\n\nHe marcado el ticket {ticket} como resuelto. Si surge cualquier otra cosa, responde a "
                "este mensaje y el ticket se volverá a abrir. Gracias por operar con Agora.",
            ),
            "es-419": (
                "Resuelto: ¿algo más?",
                "Hola, {customer_name}:\n\nMarqué el ticket {ticket} como resuelto. Si surge cualquier otra cosa, responde a este "
                "mensaje y el ticket se volverá a abrir. Gracias por operar con Agora.",
            ),
            "pt": (
                "Resolvido — mais alguma questão?",
                "Olá, {customer_name}.\n\nMarquei o ticket {ticket} como resolvido. Se surgir mais alguma questão, basta responder "
                "a esta mensagem e o ticket será reaberto. Obrigado por negociar na Agora.",
            ),
            "pt-br": (
                "Resolvido — algo mais?",
                "Olá, {customer_name}!\n\nMarquei o chamado {ticket} como resolvido. Se precisar de mais alguma coisa, é só "
                "responder a esta mensagem que o chamado será reaberto. Obrigado por negociar na Agora.",
            ),
            "fr": (
                "Résolu — autre chose ?",
                "Bonjour {customer_name},\n\nJ'ai marqué le ticket {ticket} comme résolu. Si vous avez une autre question, "
                "répondez simplement à ce message et le ticket sera rouvert. Merci d'avoir choisi Agora.",
            ),
            "de": (
                "Gelöst – noch etwas?",
                "Hallo {customer_name},\n\nich habe das Ticket {ticket} als gelöst markiert. Falls noch etwas ist, antworten Sie "
                "einfach auf diese Nachricht, dann wird das Ticket wieder geöffnet. Vielen Dank, dass Sie mit Agora handeln.",
            ),
            "tr": (
                "Çözüldü — başka bir konu var mı?",
                "Merhaba {customer_name},\n\n{ticket} numaralı destek kaydını çözüldü olarak işaretledim. Başka bir konu olursa bu "
                "mesaja yanıt vermeniz yeterli; kayıt yeniden açılır. Agora'yı tercih ettiğiniz için teşekkür ederiz.",
            ),
            "ar": (
                "تم الحل — هل من شيء آخر؟",
                "مرحبًا {customer_name}،\n\nلقد وضعتُ علامة «تم الحل» على التذكرة {ticket}. إذا احتجت إلى أي شيء آخر، فما عليك "
                "سوى الرد على هذه الرسالة وستُعاد فتح التذكرة. شكرًا لتداولك على Agora.",
            ),
            "vi": (
                "Đã giải quyết — bạn cần hỗ trợ thêm gì không?",
                "Xin chào {customer_name},\n\nTôi đã đánh dấu phiếu hỗ trợ {ticket} là đã giải quyết. Nếu có vấn đề khác, bạn chỉ "
                "cần trả lời tin nhắn này và phiếu sẽ được mở lại. Cảm ơn bạn đã giao dịch cùng Agora.",
            ),
            "id": (
                "Selesai — ada lagi yang bisa dibantu?",
                "Halo {customer_name},\n\nTiket {ticket} sudah saya tandai sebagai selesai. Jika ada hal lain, cukup balas pesan ini "
                "dan tiket akan dibuka kembali. Terima kasih telah bertransaksi di Agora.",
            ),
        },
    },
]

# --- Agents and demo tickets -------------------------------------------------------------------------

# The name customers see on replies, per queue (agent-<queue>@demo.test, created by seed_demo).
AGENT_NAMES = {
    "en": "Emma",
    "zh": "Lin",
    "ja": "Haruka",
    "ko": "Minji",
    "ru": "Olga",
    "uk": "Taras",
    "es": "Lucía",
    "pt": "Rafael",
    "fr": "Camille",
    "de": "Jonas",
    "tr": "Elif",
    "ar": "Omar",
    "vi": "Linh",
    "id": "Putri",
}
# Away: the Japanese queue has nobody online, so its ticket falls back to English (and keeps Japanese).
AGENTS_AWAY = {"ja"}

# Customers the desk demo adds (email, language, time zone, first name, VIP tier).
CUSTOMERS = [
    ("carmen@demo.test", "es-419", "America/Mexico_City", "Carmen", 0),
    ("liwei@demo.test", "zh-hans", "Asia/Shanghai", "Li Wei", 3),
    ("kenji@demo.test", "ja", "Asia/Tokyo", "Kenji", 0),
    ("aigerim@demo.test", "kk", "Asia/Almaty", "Aigerim", 0),
]

# customer, category, opened this long ago, subject, body, (agent reply after, reply, status) or None.
# Carmen's first response is long overdue (breached); Li Wei is VIP with 10 minutes left (at risk);
# Bob's is pending his answer; Kenji's fell back to English; Aigerim (kk) went to the Russian queue.
TICKETS = [
    (
        "carmen@demo.test",
        "withdrawal",
        timedelta(days=7),
        "Mi retiro de USDT sigue pendiente",
        "Hola, hice un retiro de 1.250 USDT por la red TRC20 y en el historial sigue como pendiente. "
        "¿Me pueden decir si hay algún problema? Gracias.",
        None,
    ),
    (
        "liwei@demo.test",
        "deposit",
        timedelta(minutes=50),
        "BTC 充值还没有到账",
        "你好，我一个多小时前从另一个平台向我的 Agora 地址转了 0.35 BTC，区块浏览器显示已经有 3 次确认，"
        "但我的余额里还没有显示。请帮我查一下，谢谢。",
        None,
    ),
    (
        "bob@demo.test",
        "trading",
        timedelta(days=2),
        "Limit-Order nur teilweise ausgeführt",
        "Hallo, meine Limit-Order für ETH/USDT wurde gestern nur zur Hälfte ausgeführt, obwohl der Kurs meinen Preis "
        "mehrmals erreicht hat. Warum wurde der Rest nicht ausgeführt?",
        (
            timedelta(days=1),
            "Hallo Bob, danke für Ihre Nachricht. Damit ich die Ausführung prüfen kann: Nennen Sie mir bitte die Order-ID "
            "und ungefähr die Uhrzeit, zu der Sie die Order aufgegeben haben.",
            Ticket.Status.PENDING,
        ),
    ),
    (
        "kenji@demo.test",
        "other",
        timedelta(hours=3),
        "API キーの権限について",
        "こんにちは。取引専用の API キーを作成したいのですが、出金権限を付けずに作成できますか？また、IP アドレスの制限は必須でしょうか。",
        None,
    ),
    (
        "aigerim@demo.test",
        "account_security",
        timedelta(minutes=30),
        "Аккаунтқа бөгде кіру туралы хат",
        "Сәлеметсіз бе! Бүгін түнде басқа қаладан менің аккаунтыма кіру болғаны туралы хат келді, бірақ ол мен емеспін. "
        "Аккаунтымды қалай қорғай аламын?",
        None,
    ),
    (
        "alice@demo.test",
        "deposit",
        timedelta(minutes=20),
        "ETH deposit not showing yet",
        "Hi, I sent 1.2 ETH to my deposit address about 15 minutes ago. Etherscan shows it confirmed, but my balance "
        "hasn't changed. Can you check?",
        None,
    ),
]


def _column(field: str, code: str) -> str:
    # modeltranslation's own naming: name_zh_hans, and name_ind for Indonesian (name_id would be a key).
    from modeltranslation.utils import build_localized_fieldname

    return build_localized_fieldname(field, code)


@contextmanager
def _clock_at(instant: datetime):
    """Run the ticket services as if it were `instant`: they read django.utils.timezone.now, and the
    demo needs tickets opened days ago for their SLA clocks to have run (development data only)."""
    with mock.patch.object(timezone, "now", return_value=instant):
        yield


def _calendars() -> dict[str, Calendar]:
    from support.services.calendars import calendar_holidays_seed

    always, _created = Calendar.objects.update_or_create(
        name=ALWAYS, defaults={"time_zone": "UTC", "around_the_clock": True, "country": ""}
    )
    result = {"en": always}
    year = timezone.now().year
    for code, (name, zone, country, week) in QUEUES.items():
        if week is None:
            continue
        calendar, _created = Calendar.objects.update_or_create(
            name=f"{name} office hours", defaults={"time_zone": zone, "country": country, "around_the_clock": False}
        )
        for weekdays, start, end in week:
            for weekday in weekdays:
                CalendarInterval.objects.get_or_create(calendar=calendar, weekday=weekday, start=start, end=end)
        calendar_holidays_seed(calendar=calendar, years=[year, year + 1])
        result[code] = calendar
    return result


def _queues(calendars: dict[str, Calendar], lead: User | None) -> dict[str, Queue]:
    queues = {}
    for code, (name, *_rest) in QUEUES.items():
        queues[code], _created = Queue.objects.update_or_create(
            language=code,
            defaults={
                "name": name,
                "calendar": calendars[code],
                "lead": lead,
                "fallback_after": None if code == "en" else FALLBACK_AFTER,
                "is_active": True,
            },
        )
    return queues


def _categories() -> dict[str, TicketCategory]:
    categories = {}
    for position, (slug, priority, links) in enumerate(CATEGORIES):
        category = TicketCategory.objects.filter(slug=slug).first() or TicketCategory(slug=slug)
        category.position, category.default_priority, category.links, category.is_active = position * 10, priority, links, True
        for code in LANGUAGE_CODES:
            setattr(category, _column("name", code), CATEGORY_NAMES[code][position])
        category.name = CATEGORY_NAMES["en"][position]
        category.save()
        categories[slug] = category
    return categories


def _policies(calendars: dict[str, Calendar], queues: dict[str, Queue], categories: dict[str, TicketCategory]) -> list[SlaPolicy]:
    from support.sla import engine

    policies = []
    for name, position, calendar_queue, filters, targets, warn_before in POLICIES:
        calendar = calendars[calendar_queue] if calendar_queue else calendars["en"]
        policy = SlaPolicy.objects.filter(name=name).first()
        if policy is None:
            # Positions are unique: move a stale holder of this position out of the way.
            SlaPolicy.objects.filter(position=position).update(position=position + 10_000)
            policy = SlaPolicy(name=name, position=position)
        policy.position, policy.calendar, policy.warn_before, policy.is_active = position, calendar, warn_before, True
        policy.tiers = filters.get("tiers", [])
        policy.channels, policy.priorities = [], []
        policy.save()
        policy.queues.set([queues[code] for code in filters.get("queues", [])])
        policy.categories.set([categories[slug] for slug in filters.get("categories", [])])
        for priority, metrics in targets.items():
            for metric, seconds in metrics.items():
                SlaTarget.objects.update_or_create(policy=policy, priority=priority, metric=metric, defaults={"seconds": seconds})
        for target in SlaTarget.objects.filter(policy=policy):
            if target.metric not in targets.get(target.priority, {}):
                target.delete()
        engine.policy_version_publish(policy=policy, by=None)  # a new version only when something changed
        policies.append(policy)
    return policies


def _canned_replies(categories: dict[str, TicketCategory]) -> None:
    for spec in CANNED_REPLIES:
        texts = spec["texts"]
        reply = CannedReply.objects.filter(title_en=texts["en"][0]).first() or CannedReply()
        reply.position, reply.is_active = spec["position"], True
        reply.category = categories[spec["category"]] if spec["category"] else None
        reply.set_status, reply.set_priority = spec["set_status"], ""
        for code, (title, body) in texts.items():
            setattr(reply, _column("title", code), title)
            setattr(reply, _column("body", code), body)
        reply.title, reply.body = texts["en"]
        reply.save()


def _agents(calendars: dict[str, Calendar]) -> User | None:
    """Profiles for seed_demo's agent-<queue> users (online, except the away ones) and the supervisor,
    who is the head of support and leads every queue. Returns the supervisor."""
    for code in SUPPORT_LANGUAGES:
        user = User.objects.filter(email=f"agent-{code}@demo.test").first()
        if user is None:
            continue
        presence = AgentProfile.Presence.AWAY if code in AGENTS_AWAY else AgentProfile.Presence.ONLINE
        profile = AgentProfile.objects.filter(user=user).first() or AgentProfile(user=user)
        if profile.presence != presence:
            profile.presence_changed_at = timezone.now()
        profile.display_name, profile.languages, profile.capacity, profile.presence = AGENT_NAMES[code], [code], 20, presence
        profile.calendar = calendars[code]
        profile.save()
    supervisor = User.objects.filter(email="supervisor@demo.test").first()
    if supervisor is not None:
        profile = AgentProfile.objects.filter(user=supervisor).first() or AgentProfile(user=supervisor)
        profile.display_name, profile.languages, profile.capacity = "Sam", ["en"], 10
        profile.presence, profile.is_head_of_support, profile.calendar = AgentProfile.Presence.ONLINE, True, calendars["en"]
        profile.save()
    return supervisor


def _customers(person) -> list[tuple[str, str]]:
    people = []
    for email, language, zone, first_name, tier in CUSTOMERS:
        people.append(person(email, "trader", language=language, first_name=first_name, time_zone=zone))
        User.objects.filter(email=email).update(vip_tier=tier)
    return people


def _tickets(categories: dict[str, TicketCategory], now: datetime) -> list[Ticket]:
    """Open the demo tickets at their back-dated instants through the services, route them then, and
    post the agent's reply where there is one. A ticket already there (customer and subject) is kept."""
    from support.services.routing import ticket_route
    from support.services.tickets import message_post_agent, ticket_create

    tickets = []
    for email, slug, ago, subject, body, reply in TICKETS:
        customer = User.objects.get(email=email)
        existing = Ticket.objects.filter(customer=customer, subject=subject).first()
        if existing is not None:
            tickets.append(existing)
            continue
        opened = now - ago
        with _clock_at(opened):
            ticket, _message = ticket_create(customer=customer, subject=subject, body=body, category=categories[slug])
            ticket_route(ticket=ticket, at=opened)
        if reply is not None:
            after, text, status = reply
            ticket.refresh_from_db()
            with _clock_at(opened + after):
                message_post_agent(ticket=ticket, agent=ticket.assignee, body=text, status=status)
        tickets.append(ticket)
    return tickets


@transaction.atomic
def desk_seed(*, person) -> list[tuple[str, str]]:
    """Seed the desk. `person(email, role, language=..., **fields)` creates or finds a demo user (the
    seed_demo command's own) and returns (email, role); the desk's demo customers it adds are returned
    for the command to list. Call after seed_demo created its agents, supervisor and traders."""
    calendars = _calendars()
    supervisor = User.objects.filter(email="supervisor@demo.test").first()
    queues = _queues(calendars, supervisor)
    categories = _categories()
    _policies(calendars, queues, categories)
    _canned_replies(categories)
    _agents(calendars)
    people = _customers(person)
    _tickets(categories, timezone.now())
    return people


def desk_sweep() -> None:
    """Run the SLA sweep once, so the demo's overdue and at-risk clocks are breached and warned now
    rather than at the worker's first beat."""
    from support.sla.sweep import clocks_sweep

    clocks_sweep()
