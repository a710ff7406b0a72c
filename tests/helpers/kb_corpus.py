"""A fixed knowledge-base corpus for retrieval tests: short Arabic and English documents on
distinct customer-service topics, and questions phrased unlike the text that answers them.

``DOCUMENTS`` maps a document key to its text (paragraphs separated by blank lines).
``QUESTIONS`` holds ``(question, document key, answer substring)``: the substring lies inside one
sentence of that document, so whatever chunk answers the question contains it. Half the
questions are Arabic, half English; each asks in the language of its document.

``text_pdf`` writes a real PDF with a text layer (pypdf, the standard Helvetica font), for
upload tests: Latin script only, since a standard font has no Arabic glyphs."""

from __future__ import annotations

import io
import textwrap

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

DOCUMENTS: dict[str, str] = {
    "clinic_hours": (
        "عيادة النور لطب الأسنان تستقبل المرضى من السبت إلى الخميس، من الساعة التاسعة صباحاً "
        "حتى الساعة التاسعة مساءً. يوم الجمعة إجازة أسبوعية للعيادة.\n\n"
        "يمكن حجز موعد عبر الاتصال بالرقم ٨٠٠١٢٣٤ أو من خلال التطبيق. نرجو الحضور قبل الموعد "
        "بعشر دقائق لإكمال ملف المريض.\n\n"
        "في حالات الطوارئ مثل الألم الشديد أو كسر السن يوجد طبيب مناوب حتى منتصف الليل."
    ),
    "gulf_shipping": (
        "الشحن إلى دول الخليج. نشحن الطلبات إلى السعودية والإمارات والكويت وقطر والبحرين وعُمان. "
        "تصل الشحنات عادةً خلال ثلاثة إلى خمسة أيام عمل من تاريخ الطلب.\n\n"
        "تكلفة الشحن ٢٥ ريالاً للطلب الواحد، والشحن مجاني للطلبات التي تزيد قيمتها على ٣٠٠ ريال.\n\n"
        "قد تفرض الجمارك في بلد الوصول رسوماً إضافية يتحملها المستلم."
    ),
    "ramadan_hours": (
        "مواعيد العمل في شهر رمضان. تفتح فروعنا خلال شهر رمضان المبارك من الساعة العاشرة صباحاً "
        "حتى الساعة الرابعة عصراً، ثم تعود للعمل بعد صلاة التراويح من الساعة التاسعة مساءً حتى "
        "الواحدة بعد منتصف الليل.\n\n"
        "خدمة العملاء عبر الهاتف متاحة طوال اليوم. وفي أيام عيد الفطر تغلق الفروع في اليوم الأول "
        "وتعمل بدوام مسائي في اليومين التاليين."
    ),
    "loyalty_points": (
        "برنامج نقاط الولاء. يحصل العميل على نقطة واحدة مقابل كل ريال ينفقه في متاجرنا أو موقعنا "
        "الإلكتروني. كل ١٠٠ نقطة تساوي خصماً بقيمة ٥ ريالات على المشتريات القادمة.\n\n"
        "تنتهي صلاحية النقاط بعد مرور سنة على كسبها إذا لم تُستخدم. يمكن متابعة رصيد النقاط من "
        "صفحة الحساب في التطبيق."
    ),
    "home_internet": (
        "الإنترنت المنزلي. إذا انقطع الاتصال بالإنترنت، افصل جهاز الراوتر عن الكهرباء لمدة ثلاثين "
        "ثانية ثم أعد تشغيله وانتظر حتى يثبت ضوء الإنترنت باللون الأخضر.\n\n"
        "إذا استمر الضوء الأحمر فقد يكون هناك عطل في الخط، ويمكنك تقديم بلاغ عبر التطبيق وسيزورك "
        "فني خلال ٢٤ ساعة.\n\n"
        "باقات الألياف الضوئية تبدأ بسرعة ١٠٠ ميغابت في الثانية مقابل ٢٩٩ ريالاً شهرياً."
    ),
    "refund_policy": (
        "Refund policy. You can return most items within 30 days of delivery for a full refund, "
        "as long as they are unused and in the original packaging.\n\n"
        "Refunds are issued to the original payment method within 5 to 7 business days after we "
        "receive the returned item. Gift cards and opened cosmetics cannot be returned.\n\n"
        "If an item arrived damaged, send us a photo within 48 hours and we will ship a "
        "replacement at no cost."
    ),
    "password_reset": (
        "Resetting your password. On the sign-in page, choose Forgot password and enter the email "
        "address linked to your account. We will email you a reset link that stays valid for 15 "
        "minutes.\n\n"
        "The new password must have at least 10 characters, including a number and a symbol. "
        "After five failed sign-in attempts your account is locked for one hour; contact support "
        "to unlock it sooner.\n\n"
        "If you no longer have access to that email, our support team can verify your identity "
        "with your phone number."
    ),
    "device_warranty": (
        "Device warranty. Every laptop and phone we sell comes with a two-year manufacturer "
        "warranty that covers hardware faults. The warranty does not cover accidental damage "
        "such as drops, cracked screens or liquid spills.\n\n"
        "To make a claim, bring the device and the purchase invoice to any service centre; "
        "repairs usually take up to ten working days. An extended protection plan, which adds "
        "accidental damage cover, can be bought within a month of purchase."
    ),
    "payment_methods": (
        "Payment options. We accept Visa, Mastercard, mada debit cards, Apple Pay and bank "
        "transfer. Cash on delivery is available inside the country for orders under 1,000 SAR, "
        "with a fee of 15 SAR.\n\n"
        "You can split purchases above 500 SAR into four interest-free monthly instalments at "
        "checkout. All card payments are processed securely and we never store your full card "
        "number."
    ),
    "account_deletion": (
        "Closing your account. You can delete your account at any time from Settings, then "
        "Privacy, then Delete account. Your personal data is erased within 30 days, except "
        "invoices, which the law requires us to keep for five years.\n\n"
        "Before you delete the account, download any invoices you need, because you cannot "
        "restore a deleted account."
    ),
}

QUESTIONS: list[tuple[str, str, str]] = [
    # Arabic
    ("في أي أيام يمكنني زيارة طبيب الأسنان؟", "clinic_hours", "من السبت إلى الخميس"),
    ("كيف أحجز موعداً في العيادة؟", "clinic_hours", "الاتصال بالرقم ٨٠٠١٢٣٤"),
    ("هل أجد طبيباً إذا انكسر ضرسي في وقت متأخر؟", "clinic_hours", "طبيب مناوب حتى منتصف الليل"),
    ("كم يوماً يحتاج الطلب ليصل إلى الكويت؟", "gulf_shipping", "خلال ثلاثة إلى خمسة أيام عمل"),
    ("متى يكون التوصيل بلا مقابل؟", "gulf_shipping", "والشحن مجاني للطلبات"),
    ("من يدفع رسوم الجمارك على الشحنة؟", "gulf_shipping", "رسوماً إضافية يتحملها المستلم"),
    ("ما ساعات الدوام خلال الشهر الفضيل؟", "ramadan_hours",
     "من الساعة العاشرة صباحاً"),
    ("هل الفروع مفتوحة في أول أيام العيد؟", "ramadan_hours", "تغلق الفروع في اليوم الأول"),
    ("هل يمكنني الاتصال بخدمة العملاء في أي وقت؟", "ramadan_hours",
     "خدمة العملاء عبر الهاتف متاحة طوال اليوم"),
    ("كم يساوي رصيد مئة نقطة من الخصم؟", "loyalty_points", "خصماً بقيمة ٥ ريالات"),
    ("هل تضيع نقاطي إذا لم أستعملها؟", "loyalty_points", "تنتهي صلاحية النقاط بعد مرور سنة"),
    ("أين أطلع على عدد نقاطي؟", "loyalty_points", "من صفحة الحساب في التطبيق"),
    ("الشبكة في بيتي مقطوعة فماذا أفعل؟", "home_internet", "افصل جهاز الراوتر عن الكهرباء"),
    ("متى يأتي الفني بعد تسجيل البلاغ؟", "home_internet", "فني خلال ٢٤ ساعة"),
    ("بكم اشتراك الألياف الضوئية في الشهر؟", "home_internet", "مقابل ٢٩٩ ريالاً شهرياً"),
    # English
    ("How long do I have to send something back?", "refund_policy",
     "within 30 days of delivery"),
    ("When will I get my money back after returning a product?", "refund_policy",
     "within 5 to 7 business days"),
    ("My order came broken, what should I do?", "refund_policy",
     "send us a photo within 48 hours"),
    ("I can't remember my login, how do I get back into my account?", "password_reset",
     "enter the email address linked to your account"),
    ("How long does the recovery link keep working?", "password_reset",
     "valid for 15 minutes"),
    ("Why am I blocked after typing the wrong password several times?", "password_reset",
     "locked for one hour"),
    ("Is a smashed display fixed for free under the guarantee?", "device_warranty",
     "does not cover accidental damage"),
    ("For how long is a new phone covered against defects?", "device_warranty",
     "two-year manufacturer warranty"),
    ("What should I take with me to get my laptop repaired?", "device_warranty",
     "the device and the purchase invoice"),
    ("Can I pay the courier in cash when the parcel arrives?", "payment_methods",
     "Cash on delivery is available"),
    ("Is it possible to pay in installments?", "payment_methods",
     "four interest-free monthly instalments"),
    ("Do you keep my credit card details?", "payment_methods",
     "we never store your full card number"),
    ("How do I remove my profile permanently?", "account_deletion",
     "from Settings, then Privacy, then Delete account"),
    ("How long are my bills retained after I leave?", "account_deletion",
     "keep for five years"),
    ("Can a closed account be brought back?", "account_deletion",
     "cannot restore a deleted account"),
]


def text_pdf(pages: list[str], *, line_chars: int = 90) -> bytes:
    """A PDF with one page per string, its lines wrapped at ``line_chars`` (Latin-1 text)."""
    writer = PdfWriter()
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    })
    for text in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        operators = ["BT", "/F1 10 Tf", "13 TL", "56 750 Td"]
        for paragraph in text.split("\n\n"):
            for line in textwrap.wrap(paragraph, line_chars) + [""]:
                escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                operators.append(f"({escaped}) Tj T*")
        operators.append("ET")
        content = DecodedStreamObject()
        content.set_data("\n".join(operators).encode("cp1252"))
        page.replace_contents(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
