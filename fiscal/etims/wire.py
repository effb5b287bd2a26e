"""The OSCU wire format: what dukabot sends KRA and how it reads the answers (facts and their sources: SOURCES.md).

Money: orders are in KES minor units (cents); OSCU takes amounts in shillings with two decimals, sent as JSON numbers.
Prices are VAT-inclusive (a Kenyan shelf price), so each line's tax is its total times rate / (100 + rate), rounded
half up to the cent, per line; the invoice's totals per tax type are the sums of its lines (eTIMS counts per line)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from fiscal.etims.settings import TAX_TYPES

NAIROBI: Final = ZoneInfo("Africa/Nairobi")  # KRA's dates are Kenyan local time
SUCCESS: Final = "000"
# Rates by tax type: A exempt, B standard 16%, C zero-rated, D non-VAT, E reduced 8%.
RATES: Final = {"A": 0, "B": 16, "C": 0, "D": 0, "E": 8}
INIT_PATH: Final = "/selectInitOsdcInfo"
ITEM_PATH: Final = "/saveItem"
SALES_PATH: Final = "/saveTrnsSalesOsdc"
SALE: Final = "S"  # rcptTyCd: a sale
REFUND: Final = "R"  # rcptTyCd: a credit note
PAYMENT_OTHER: Final = "07"
REFUND_REASON_OTHER: Final = "06"
USER: Final = "dukabot"
QR_LIVE: Final = "https://etims.kra.go.ke"
QR_SANDBOX: Final = "https://etims-sbx.kra.go.ke"


@dataclass(frozen=True, slots=True)
class Line:
    item_code: str
    item_class: str
    name: str
    quantity: int
    total_minor: int  # VAT included
    tax_type: str


def item_code(product_key: int) -> str:
    """Our item code for a product: KE, product type 2 (finished good), packaging NT, unit U, a 7-digit serial."""
    return f"KE2NTU{product_key:07d}"


def tax_minor(total_minor: int, tax_type: str) -> int:
    rate = RATES[tax_type]
    if rate == 0:
        return 0
    exact = Decimal(total_minor) * rate / (100 + rate)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def shillings(minor: int) -> float:
    return float(Decimal(minor) / 100)


def scaled(lines: list[Line], amount_minor: int) -> list[Line]:
    """A part of the sale (a partial refund): each line scaled down, rounded down to the cent, what the rounding
    left over added to the largest line, so the lines add up to ``amount_minor`` exactly."""
    total = sum(line.total_minor for line in lines)
    if amount_minor >= total or total == 0:
        return lines
    parts = [line.total_minor * amount_minor // total for line in lines]
    largest = max(range(len(lines)), key=lambda index: lines[index].total_minor)
    parts[largest] += amount_minor - sum(parts)
    return [
        Line(line.item_code, line.item_class, line.name, line.quantity, part, line.tax_type)
        for line, part in zip(lines, parts, strict=True)
        if part > 0
    ]


def local(at: datetime, shape: str) -> str:
    return at.astimezone(NAIROBI).strftime(shape)


def invoice(
    *,
    pin: str,
    branch: str,
    number: int,
    original_number: int,
    trader_number: str,
    customer_name: str,
    customer_phone: str,
    shop_name: str,
    lines: list[Line],
    at: datetime,
    credit: bool,
) -> dict[str, Any]:
    """The body of ``saveTrnsSalesOsdc`` for a sale or a credit note (``credit``: ``original_number`` is its sale)."""
    items = []
    taxable = dict.fromkeys(TAX_TYPES, 0)
    taxes = dict.fromkeys(TAX_TYPES, 0)
    for seq, line in enumerate(lines, start=1):
        tax = tax_minor(line.total_minor, line.tax_type)
        taxable[line.tax_type] += line.total_minor
        taxes[line.tax_type] += tax
        price = Decimal(line.total_minor) / line.quantity / 100
        items.append(
            {
                "itemSeq": seq,
                "itemCd": line.item_code,
                "itemClsCd": line.item_class,
                "itemNm": line.name[:200],
                "bcd": None,
                "pkgUnitCd": "NT",
                "pkg": line.quantity,
                "qtyUnitCd": "U",
                "qty": line.quantity,
                "prc": float(price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
                "splyAmt": shillings(line.total_minor),
                "dcRt": 0,
                "dcAmt": 0,
                "taxTyCd": line.tax_type,
                "taxblAmt": shillings(line.total_minor),
                "taxAmt": shillings(tax),
                "totAmt": shillings(line.total_minor),
            }
        )
    total = sum(taxable.values())
    body: dict[str, Any] = {
        "tin": pin,
        "bhfId": branch,
        "trdInvcNo": trader_number,
        "invcNo": number,
        "orgInvcNo": original_number,
        "custTin": None,
        "custNm": customer_name[:60] or None,
        "salesTyCd": "N",
        "rcptTyCd": REFUND if credit else SALE,
        "pmtTyCd": PAYMENT_OTHER,
        "salesSttsCd": "02",
        "cfmDt": local(at, "%Y%m%d%H%M%S"),
        "salesDt": local(at, "%Y%m%d"),
        "stockRlsDt": None,
        "cnclReqDt": None,
        "cnclDt": None,
        "rfdDt": local(at, "%Y%m%d%H%M%S") if credit else None,
        "rfdRsnCd": REFUND_REASON_OTHER if credit else None,
        "totItemCnt": len(items),
        **{f"taxblAmt{kind}": shillings(taxable[kind]) for kind in TAX_TYPES},
        **{f"taxRt{kind}": RATES[kind] for kind in TAX_TYPES},
        **{f"taxAmt{kind}": shillings(taxes[kind]) for kind in TAX_TYPES},
        "totTaxblAmt": shillings(total),
        "totTaxAmt": shillings(sum(taxes.values())),
        "totAmt": shillings(total),
        "prchrAcptcYn": "N",
        "remark": None,
        "regrId": USER,
        "regrNm": USER,
        "modrId": USER,
        "modrNm": USER,
        "receipt": {
            "custTin": None,
            "custMblNo": customer_phone or None,
            "rptNo": None,
            "trdeNm": shop_name[:60],
            "adrs": None,
            "topMsg": shop_name[:60],
            "btmMsg": None,
            "prchrAcptcYn": "N",
            "rcptPbctDt": local(at, "%Y%m%d%H%M%S"),
        },
        "itemList": items,
    }
    return body


def item_registration(pin: str, branch: str, item: dict[str, Any]) -> dict[str, Any]:
    """The body of ``saveItem`` for the product of one invoice line (``invoice``'s ``itemList`` entry)."""
    return {
        "tin": pin,
        "bhfId": branch,
        "itemCd": item.get("itemCd"),
        "itemClsCd": item.get("itemClsCd"),
        "itemTyCd": "2",
        "itemNm": item.get("itemNm"),
        "itemStdNm": None,
        "orgnNatCd": "KE",
        "pkgUnitCd": "NT",
        "qtyUnitCd": "U",
        "taxTyCd": item.get("taxTyCd"),
        "btchNo": None,
        "bcd": None,
        "dftPrc": item.get("prc"),
        "isrcAplcbYn": "N",
        "useYn": "Y",
        "regrId": USER,
        "regrNm": USER,
        "modrId": USER,
        "modrNm": USER,
    }


def init_request(pin: str, branch: str, serial: str) -> dict[str, Any]:
    return {"tin": pin, "bhfId": branch, "dvcSrlNo": serial}


@dataclass(frozen=True, slots=True)
class Answer:
    code: str
    message: str
    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.code in SUCCESS_CODES

    @property
    def transient(self) -> bool:
        """KRA's side failed (not the request): worth sending the same request again later."""
        return self.code in TRANSIENT_CODES or self.code.startswith("5")


# "000" is the specification's success; SDKs report "0", "00" and "0000" from KRA's live traffic (SOURCES.md).
SUCCESS_CODES: Final = frozenset({"000", "0", "00", "0000"})
# Codes read as KRA's own failure, not the request's (SOURCES.md: community SDKs; unconfirmed).
TRANSIENT_CODES: Final = frozenset({"896", "899", "990", "991", "992", "993", "995", "996", "997", "998", "999"})


def answer(body: Any) -> Answer:
    """An OSCU answer read tolerantly: the code as text whatever its JSON type, ``data`` an object or nothing."""
    if not isinstance(body, dict):
        return Answer("", "not a JSON object", {})
    code = body.get("resultCd")
    message = body.get("resultMsg")
    data = body.get("data")
    return Answer(
        str(code).strip() if code is not None else "",
        str(message).strip() if message is not None else "",
        data if isinstance(data, dict) else {},
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    found = str(value).strip()
    return found or None


@dataclass(frozen=True, slots=True)
class Signed:
    receipt_number: str | None
    signature: str
    internal_data: str | None
    signed_at: datetime | None


def signed(data: dict[str, Any]) -> Signed | None:
    """What a successful ``saveTrnsSalesOsdc`` returned; None when it lacks the signature (it cannot be printed)."""
    signature = _text(data.get("rcptSign"))
    if signature is None:
        return None
    when = _text(data.get("sdcDateTime") or data.get("vsdcRcptPbctDate"))
    at = None
    if when is not None and len(when) >= 14 and when[:14].isdigit():
        at = datetime.strptime(when[:14], "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI).astimezone(UTC)
    return Signed(_text(data.get("curRcptNo") or data.get("rcptNo")), signature, _text(data.get("intrlData")), at)


def communication_key(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """The key and the control unit's id an initialisation returned (``data.info`` or ``data`` itself)."""
    nested = data.get("info")
    info: dict[str, Any] = nested if isinstance(nested, dict) else data
    return _text(info.get("cmcKey")), _text(info.get("sdcId"))


def qr_payload(pin: str, branch: str, signature: str, *, test_mode: bool) -> str:
    """The text of the receipt's QR code: KRA's receipt-check page for this signature."""
    host = QR_SANDBOX if test_mode else QR_LIVE
    return f"{host}/common/link/etims/receipt/indexEtimsReceiptData?Data={pin}{branch}{signature}"
