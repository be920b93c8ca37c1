"""Short answers in every language: yes, no, "let me out of this", and the AUTOPAY keyword."""

from __future__ import annotations

import unicodedata

YES = frozenset({
    "yes", "y", "yeah", "yep", "ok", "okay", "sure", "confirm", "si", "sí", "claro", "dale", "oui", "ouais",
    "sim", "s", "isso", "ja", "jawohl", "klar", "certo", "va bene", "haan", "han", "ha", "हाँ", "हां", "ji haan",
    "ya", "iya", "betul", "oke", "sì",
    "是", "是的", "对", "对的", "好", "好的", "可以", "行", "嗯", "确认", "没问题",
    "có", "co", "vâng", "vang", "dạ", "da", "ừ", "đúng", "dung", "đúng rồi", "dung roi", "được", "duoc",
    "네", "예", "응", "그래요", "맞아요", "좋아요", "넵", "네네",
    "oo", "opo", "oho", "sige", "sige po", "oo po", "tama", "yes po",
    "نعم", "ايوه", "أيوه", "أيوة", "ايوة", "اه", "آه", "ايوا", "تمام", "موافق", "أكيد", "اكيد", "صح", "أجل", "اجل",
})  # fmt: skip
NO = frozenset({
    "no", "n", "nope", "nah", "non", "nao", "não", "nein", "nee", "nahi", "nahin", "नहीं", "tidak", "gak", "nggak",
    "ga", "enggak",
    "不", "不是", "不要", "没有", "不用", "不对", "否",
    "không", "khong", "ko", "không phải", "khong phai", "thôi", "thoi",
    "아니요", "아니오", "아니", "아뇨", "싫어요", "아니에요",
    "hindi", "hindi po", "ayoko", "ayaw", "wag", "huwag", "di",
    "لا", "لأ", "لاء", "مش", "لا شكرا", "كلا",
})  # fmt: skip
OUT = frozenset({
    "cancel", "stop it", "menu", "start over", "cancelar", "annuler", "cancela", "abbrechen", "annulla", "ruko",
    "batal", "help", "ayuda", "aide", "ajuda", "hilfe", "aiuto", "madad", "bantuan", "agent", "agente", "person",
    "menú", "menü", "conseiller", "atendente", "berater", "operatore", "agen",
    "取消", "菜单", "帮助", "人工", "客服", "hủy", "huy", "trợ giúp", "tro giup", "nhân viên", "nhan vien",
    "취소", "메뉴", "도움말", "상담원", "kanselahin", "ahente", "tulong",
    "إلغاء", "الغاء", "القائمة", "قائمة", "مساعدة", "موظف",
})  # fmt: skip


AUTOPAY = frozenset({
    "autopay", "auto pay", "auto-pay", "automatic payments", "autopago", "pago automático", "pago automatico",
    "prélèvement automatique", "prelevement automatique", "débito automático", "debito automatico", "lastschrift",
    "addebito automatico", "ऑटोपे", "autodebet", "pembayaran otomatis",
    "自动还款", "自动扣款", "thanh toán tự động", "thanh toan tu dong", "자동이체", "자동 납부", "자동납부",
    "awtomatikong bayad", "auto debit", "الدفع التلقائي", "دفع تلقائي", "الخصم التلقائي",
})  # fmt: skip


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFC", text.strip().lower())
    return folded.strip(" .!?¡¿,;:。！？，、~～؟،")


def is_yes(text: str) -> bool:
    """Tell whether a reply means yes."""
    return _plain(text) in YES


def is_no(text: str) -> bool:
    """Tell whether a reply means no."""
    return _plain(text) in NO


def asks_for_autopay(text: str) -> bool:
    """Tell whether a message is the AUTOPAY keyword (or its word in the borrower's language)."""
    return _plain(text) in AUTOPAY


def wants_out(text: str) -> bool:
    """Tell whether a reply abandons the question being asked (menu, cancel, a person)."""
    return _plain(text) in OUT
