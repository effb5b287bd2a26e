"""``dukabot playground`` away from Nairobi's English: a Cotonou shop in CFA francs talking French, and a Nairobi shop
talking Swahili, each walked from /start to a receipt by a piped script; prices, the phone prompt and its refusal,
and the receipt read as the customer's language writes them."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.running import run

NNBSP, NBSP = "\u202f", "\u00a0"
# A first order paid by hand: the first product, a wrong phone number, then a right one, and the merchant's approval.
SCRIPT = ["1", "1", "1", "/cart", "5", "1", "{wrong}", "{phone}", "2", "1", "1", ":photo REF12345", ":m", "1", ":c"]


def script(wrong: str, phone: str) -> list[str]:
    return [line.format(wrong=wrong, phone=phone) for line in SCRIPT] + ["/orders"]


def test_a_shop_in_cotonou_in_cfa_francs_and_french(tmp_path: Path) -> None:
    done = run(tmp_path, script("0712345678", "0195123456"), "--currency", "XOF", "--country", "BJ", "--language", "fr")
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"
    gari = f"800{NBSP}F{NNBSP}CFA"
    assert f"[1] Gari 1 kg · {gari}  [2] Huile rouge 1 l · 1{NNBSP}250{NBSP}F{NNBSP}CFA" in out
    assert (
        "(par exemple 01 95 12 34 56, ou depuis l'étranger avec l'indicatif du pays, comme +229 01 95 12 34 56)" in out
    )
    assert f"Ce numéro n'est pas valide. Vérifiez-le et tapez-le comme ceci{NBSP}: 01 95 12 34 56." in out
    code = re.search(rf"La commande ([A-Z0-9]{{6}}) est enregistrée\. Montant à payer{NBSP}: {gari}\.", out)
    assert code, out[-3000:]
    # the merchant's alert, in the shop's language (French)
    assert (
        f"Preuve de paiement pour la commande {code.group(1)}\nMontant dû{NBSP}: {gari}\n" in out
    )  # the shop is French
    receipt = re.search(rf"Montant{NBSP}: {gari}\n.*\n.*\n.*{NBSP}: \d\d [a-zéû]+\.? 20\d\d, \d\d:\d\d WAT\n", out)
    assert receipt, out[-3000:]
    assert "Traceback" not in out + done.stderr
    with sqlite3.connect(tmp_path / "var" / "playground" / "playground.sqlite3") as connection:
        shop = connection.execute("SELECT currency, region FROM tenants").fetchall()
        methods = {name for (name,) in connection.execute("SELECT provider FROM provider_configs")}
        orders = connection.execute("SELECT status, total_minor, currency FROM orders").fetchall()
    assert shop == [("XOF", "BJ")] and orders == [("paid", 800, "XOF")]
    assert "mpesa" not in methods and {"manual", "feexpay", "paystack"} <= methods


def test_a_shop_in_nairobi_talking_swahili(tmp_path: Path) -> None:
    done = run(tmp_path, script("12345", "0712123456"), "--currency", "KES", "--language", "sw")
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"
    assert f"[1] Majani ya Chai 250g · Ksh{NBSP}160" in out
    assert "(kwa mfano 0712 123 456, au ukiwa nje ya nchi, pamoja na msimbo wa nchi kama +254 712 123 456)" in out
    assert "Nambari hiyo si sahihi. Tafadhali iangalie tena na uiandike hivi: 0712 123 456.\n" in out
    assert "Ni nambari ya nchi nyingine? Iandike pamoja na msimbo wa nchi, kama +254 712 123 456." in out
    code = re.search(rf"Oda ([A-Z0-9]{{6}}) imepokelewa\. Kiasi cha kulipa: Ksh{NBSP}160\.", out)
    assert code, out[-3000:]
    assert re.search(rf"Kiasi: Ksh{NBSP}160\n(.*\n)*?Saa: \d\d [A-Z][a-z]+ 20\d\d, \d\d:\d\d EAT\n", out), out[-3000:]
    assert f"• {code.group(1)} – Ksh{NBSP}160 – imelipwa" in out
    assert "Traceback" not in out + done.stderr
