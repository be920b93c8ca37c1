"""Short answers in every language: yes, no, "let me out of this", and the AUTOPAY keyword."""

from __future__ import annotations

import unicodedata

YES = frozenset({
    "yes", "y", "yeah", "yep", "ok", "okay", "sure", "confirm", "si", "sí", "claro", "dale", "oui", "ouais",
    "sim", "s", "isso", "ja", "jawohl", "klar", "certo", "va bene", "haan", "han", "ha", "हाँ", "हां", "ji haan",
    "ya", "iya", "betul", "oke", "sì", "是", "是的", "好", "好的", "có", "co", "vâng", "vang", "dạ", "da", "예", "네",
    "oo", "opo", "oho", "نعم", "أجل", "اجل",
})  # fmt: skip
NO = frozenset({
    "no", "n", "nope", "nah", "non", "nao", "não", "nein", "nee", "nahi", "nahin", "नहीं", "tidak", "gak", "nggak",
    "ga", "enggak", "否", "不", "不是", "不要", "không", "khong", "아니요", "아니오", "아니", "hindi", "hindi po",
    "ayoko", "لا",
})  # fmt: skip
OUT = frozenset({
    "cancel", "stop it", "menu", "start over", "cancelar", "annuler", "cancela", "abbrechen", "annulla", "ruko",
    "batal", "help", "ayuda", "aide", "ajuda", "hilfe", "aiuto", "madad", "bantuan", "agent", "agente", "person",
    "menú", "menü", "conseiller", "atendente", "berater", "operatore", "agen", "人工", "菜单", "帮助", "取消",
    "nhân viên", "nhan vien", "trợ giúp", "tro giup", "hủy", "huy", "상담원", "메뉴", "취소", "ahente", "tulong",
    "kanselahin", "موظف", "القائمة", "قائمة", "مساعدة", "إلغاء", "الغاء",
})  # fmt: skip


AUTOPAY = frozenset({
    "autopay", "auto pay", "auto-pay", "automatic payments", "autopago", "pago automático", "pago automatico",
    "prélèvement automatique", "prelevement automatique", "débito automático", "debito automatico", "lastschrift",
    "addebito automatico", "ऑटोपे", "autodebet", "pembayaran otomatis",
})  # fmt: skip


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFC", text.strip().lower())
    return folded.strip(" .!?¡¿,;:")


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
