"""Identity codes of organisations: the unified social credit code and the national industry code.

``credit_code_problem`` checks a 统一社会信用代码 against GB 32100-2015: 18 characters from the
31-character set (digits and capital letters without I, O, Z, S, V), a registration-authority
code first, an organisation-category code second, a six-digit administrative-division code, a
nine-character organisation code and the check character computed from the first seventeen.
``industry_code_problem`` checks a 国民经济行业分类 (GB/T 4754-2017) code such as ``C3911``.

Both return a rule name (``None`` when the code is valid) so that callers render the message in
their own language; ``CREDIT_CODE_RULES`` describes each rule in English.
"""
from __future__ import annotations

import re

#: The code's character set in value order (GB 32100-2015, table 1): a character's value is its index.
CREDIT_CODE_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weight of position i (1-based) is 3**(i-1) mod 31.
CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
#: Registration authorities (登记管理部门代码) and the organisation categories each may register.
CREDIT_CODE_AUTHORITIES = {
    "1": "1239",     # 机构编制: 机关, 事业单位, 中央编办直接管理机构编制的群众团体, 其他
    "2": "19",       # 外交
    "3": "1234591",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "4": "19",       # 文化: 外国在华文化中心, 其他
    "5": "1239",     # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",      # 旅游
    "7": "129",      # 宗教
    "8": "19",       # 工会
    "9": "123",      # 工商 (市场监管): 企业, 个体工商户, 农民专业合作社
    "A": "19",       # 中央军委改革和编制办公室
    "N": "1239",     # 农业
    "Y": "1",        # 其他
}
CREDIT_CODE_RULES = {
    "length": "must be 18 characters",
    "characters": "may hold only digits and capital letters other than I, O, Z, S and V",
    "authority": "must start with a registration-authority code (1-9, A, N or Y) and an organisation category "
                 "that authority registers",
    "region": "characters 3-8 must be a six-digit administrative-division code",
    "check": "the 18th character must be the GB 32100-2015 check character of the first 17",
}
_REGION = re.compile(r"^\d{6}$")
#: 国民经济行业分类 sections and the two-digit divisions each spans (GB/T 4754-2017).
INDUSTRY_SECTIONS = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52), "G": (53, 60),
    "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72), "M": (73, 75), "N": (76, 79),
    "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90), "S": (91, 97), "T": (98, 98),
}
_INDUSTRY = re.compile(r"^([A-T])?(\d{2}(?:\d{1,2})?)?$")


def credit_code_check_character(first17):
    """The check character (校验码) of a credit code's first 17 characters.

    C18 = 31 - (sum of value(c_i) * 3**(i-1) mod 31) mod 31, written back as a character
    (a remainder of 0 gives "0").

    Parameters
    ----------
    first17 : str
        Seventeen characters of :data:`CREDIT_CODE_CHARACTERS`.

    Returns
    -------
    str
        One character of :data:`CREDIT_CODE_CHARACTERS`.

    Raises
    ------
    ValueError
        Not 17 characters, or a character outside the set.

    Examples
    --------
    >>> credit_code_check_character("91350100M000100Y4")
    '3'
    """
    if len(first17) != 17:
        raise ValueError(f"need the first 17 characters of a credit code; got {len(first17)}")
    total = 0
    for character, weight in zip(first17, CREDIT_CODE_WEIGHTS):
        value = CREDIT_CODE_CHARACTERS.find(character)
        if value < 0:
            raise ValueError(f"{character!r} is not a credit-code character")
        total += value * weight
    return CREDIT_CODE_CHARACTERS[(31 - total % 31) % 31]


def normalise_credit_code(code):
    """Strip spaces and turn letters to capitals (codes are often typed in lower case)."""
    return re.sub(r"\s+", "", str(code or "")).upper()


def credit_code_problem(code):
    """The first GB 32100-2015 rule ``code`` breaks, or ``None`` when it is a valid credit code.

    Parameters
    ----------
    code : str
        The code as normalised by :func:`normalise_credit_code`.

    Returns
    -------
    str or None
        A key of :data:`CREDIT_CODE_RULES`.

    Examples
    --------
    >>> credit_code_problem("91350100M000100Y43") is None
    True
    """
    if len(code) != 18:
        return "length"
    if any(c not in CREDIT_CODE_CHARACTERS for c in code):
        return "characters"
    if code[1] not in CREDIT_CODE_AUTHORITIES.get(code[0], ""):
        return "authority"
    if not _REGION.match(code[2:8]):
        return "region"
    if credit_code_check_character(code[:17]) != code[17]:
        return "check"
    return None


def industry_code_problem(code):
    """Whether ``code`` is a GB/T 4754-2017 industry code (section letter and/or 2-4 digits that agree).

    Returns
    -------
    str or None
        "format" (not a letter A-T followed by 2 to 4 digits), "section" (the digits' division lies
        outside the letter's section, or no section has it), or ``None`` when valid.

    Examples
    --------
    >>> industry_code_problem("C3911"), industry_code_problem("A3911")
    (None, 'section')
    """
    match = _INDUSTRY.match(code)
    if not code or match is None:
        return "format"
    letter, digits = match.groups()
    if digits is None:
        return None
    if industry_section(digits) is None or (letter and industry_section(digits) != letter):
        return "section"
    return None


def industry_section(digits):
    """The section letter of an industry code's digits ("3911" → "C"), or ``None`` if no section has them."""
    division = int(digits[:2])
    return next((letter for letter, (low, high) in INDUSTRY_SECTIONS.items() if low <= division <= high), None)
