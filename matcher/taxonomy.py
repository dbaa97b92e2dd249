"""Controlled vocabularies: domains, security qualifications and visibility tiers.

Every list of allowed values that validation messages quote comes from here, so
the messages and the code that dispatches on the values can never disagree.
"""
from __future__ import annotations

import functools
import re

import numpy as np

#: Canonical domain names, in display order.
DOMAINS = ("电子信息", "新材料", "先进制造与自动化", "高技术服务", "生物医药", "其他")

#: English (and common short) aliases accepted on input, lower-cased.
DOMAIN_ALIASES = {
    "electronic information": "电子信息",
    "electronics": "电子信息",
    "information technology": "电子信息",
    "new materials": "新材料",
    "advanced materials": "新材料",
    "materials": "新材料",
    "advanced manufacturing and automation": "先进制造与自动化",
    "advanced manufacturing": "先进制造与自动化",
    "manufacturing": "先进制造与自动化",
    "先进制造": "先进制造与自动化",
    "high-tech services": "高技术服务",
    "high tech services": "高技术服务",
    "high-tech service": "高技术服务",
    "biomedicine": "生物医药",
    "biomedical": "生物医药",
    "biopharma": "生物医药",
    "生物医药与健康": "生物医药",
    "other": "其他",
    "others": "其他",
}

#: Enterprise security qualification (保密资质), weakest first, with its level.
CLEARANCES = {"无": 0, "三级": 1, "二级": 2, "一级": 3}
CLEARANCE_ALIASES = {
    "": "无", "none": "无", "no": "无", "n/a": "无", "没有": "无", "0": "无",
    "level 3": "三级", "level3": "三级", "3": "三级", "三级保密资质": "三级",
    "level 2": "二级", "level2": "二级", "2": "二级", "二级保密资质": "二级",
    "level 1": "一级", "level1": "一级", "1": "一级", "一级保密资质": "一级",
}

#: Capability visibility tier (密级) and the qualification level it requires:
#: 公开 is open to all; 内部 needs any qualification; 秘密 三级 or above; 机密 二级 or above.
CLASSIFICATIONS = {"公开": 0, "内部": 1, "秘密": 1, "机密": 2}
CLASSIFICATION_ALIASES = {
    "": "公开", "public": "公开", "open": "公开", "非密": "公开",
    "internal": "内部", "restricted": "内部",
    "secret": "秘密", "confidential": "秘密",
    "top secret": "机密", "classified": "机密",
}

COOPERATION_MODES = ("技术转让", "技术许可", "合作开发", "技术服务", "作价入股", "委托开发", "技术咨询", "共建平台", "其他")


def _normalise(value, canonical, aliases):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        value = ""
    text = str(value).strip()
    if text in canonical:
        return text
    return aliases.get(text.lower())


def normalise_domain(value):
    """Return the canonical domain for ``value`` or ``None`` when it is unknown.

    Empty values return ``None`` too; callers decide whether to infer them.

    Examples
    --------
    >>> normalise_domain("New Materials")
    '新材料'
    """
    return _normalise(value, DOMAINS, DOMAIN_ALIASES)


def normalise_clearance(value):
    """Return the canonical qualification (empty means 无) or ``None`` when unknown."""
    return _normalise(value, CLEARANCES, CLEARANCE_ALIASES)


def normalise_classification(value):
    """Return the canonical tier (empty means 公开) or ``None`` when unknown."""
    return _normalise(value, CLASSIFICATIONS, CLASSIFICATION_ALIASES)


def clearance_allows(clearance, classification):
    """Whether an enterprise with ``clearance`` may see a capability of ``classification``.

    Parameters
    ----------
    clearance : str
        Canonical qualification, one of ``CLEARANCES``.
    classification : str
        Canonical tier, one of ``CLASSIFICATIONS``.

    Returns
    -------
    bool

    Examples
    --------
    >>> clearance_allows("三级", "秘密"), clearance_allows("三级", "机密")
    (True, False)
    """
    return CLEARANCES[clearance] >= CLASSIFICATIONS[classification]


def visibility_mask(clearances, classifications):
    """Boolean matrix (n_needs, n_capabilities): True where the pair may be shown.

    Parameters
    ----------
    clearances : sequence of str, length n_needs
    classifications : sequence of str, length n_capabilities

    Returns
    -------
    numpy.ndarray of bool, shape (n_needs, n_capabilities)
    """
    levels = np.array([CLEARANCES[c] for c in clearances], dtype=np.int8)
    required = np.array([CLASSIFICATIONS[c] for c in classifications], dtype=np.int8)
    return levels[:, None] >= required[None, :]


#: Prototype vocabulary of each domain, used to infer a missing domain. Written
#: from the district's industry catalogue, not fitted to any evaluation data.
DOMAIN_PROTOTYPES = {
    "电子信息": (
        "电子 信息 通信 无线 射频 天线 微波 雷达 芯片 集成电路 半导体 器件 功率器件 SiC GaN MOSFET IGBT "
        "传感器 嵌入式 单片机 电路 PCB 印制电路板 电源 信号处理 图像处理 视频 光电 激光 光纤 红外 显示 "
        "计算机 软件 算法 人工智能 深度学习 神经网络 机器学习 大数据 云计算 物联网 网络 网络安全 数据安全 "
        "加密 区块链 5G 卫星导航 北斗 电磁兼容 编码 调制 频谱 工业软件 操作系统 数据库 OTA LiDAR 定位 识别"
    ),
    "新材料": (
        "材料 新材料 复合材料 高分子 聚合物 树脂 塑料 橡胶 纤维 碳纤维 陶瓷 合金 金属 钢 铝合金 钛合金 镁合金 "
        "涂层 薄膜 靶材 溅射 镀膜 纳米 粉末 晶体 单晶 外延 衬底 碳化硅 石墨烯 聚乳酸 PLA 可降解 生物基 "
        "改性 共混 增韧 耐热 耐腐蚀 耐磨 阻燃 力学性能 微观组织 相变 烧结 热处理 热防护 隔热 吸波 "
        "催化剂 电池材料 正极 负极 电解质 功能材料 磁性 稀土 玻璃 纺织 织物 染整 冶金 冶炼 铸锭 晶粒"
    ),
    "先进制造与自动化": (
        "制造 加工 机械 装备 设备 机床 数控 精密 模具 压铸 冲压 焊接 注塑 铸造 锻造 切削 磨削 装配 "
        "自动化 机器人 工业机器人 机器视觉 PLC 伺服 电机 驱动 控制系统 控制器 智能制造 数字孪生 MES 产线 生产线 "
        "AGV 物流 工艺 工装 夹具 检测 在线检测 故障诊断 振动 噪声 可靠性 寿命 疲劳 传动 齿轮 轴承 液压 气动 "
        "发动机 动力 汽车零部件 新能源汽车 电驱 热管理 航空 航天 飞行器 船舶 武器 兵器 弹药 惯导 导航制导 "
        "缝纫机 园艺机械 电气 电网 电力 变频 节能 增材制造 3D打印 仿真 有限元 CAE 结构优化 轻量化 运动控制"
    ),
    "高技术服务": (
        "服务 技术服务 检验检测 检测认证 计量 标准 认证 测试服务 知识产权 专利 技术转移 成果转化 科技咨询 "
        "咨询 管理 企业管理 项目管理 运营 战略 决策 评估 评价 绩效 金融 投资 融资 市场 营销 电子商务 "
        "工业设计 研发设计 创新 孵化 创业 信息服务 情报 文献 图书馆 档案 数据服务 数字化转型 平台 "
        "供应链 物流服务 培训 人才 科技金融 政策 商业模式 用户 消费者 品牌 价格 成本 效益 经济"
    ),
    "生物医药": (
        "生物 医药 药物 制药 药学 原料药 中间体 制剂 合成 医学 临床 患者 疾病 治疗 诊断 医疗器械 "
        "细胞 基因 蛋白 抗体 疫苗 分子 微生物 发酵 酶 中药 中医 方剂 药理 毒理 GMP 药品 健康 "
        "肿瘤 癌 炎症 感染 免疫 血 手术 护理 康复 口腔 牙 影像 病理 流行病 公共卫生 预防 检验医学 生物医学"
    ),
}


def infer_domains(texts):
    """Infer the domain of each text by its nearest domain prototype.

    Character 1–2-gram TF-IDF cosine against :data:`DOMAIN_PROTOTYPES`; a text
    that shares nothing with any prototype gets 其他.

    Parameters
    ----------
    texts : sequence of str

    Returns
    -------
    list of str
        One canonical domain per text.

    Examples
    --------
    >>> infer_domains(["碳化硅外延片缺陷控制", "注塑模具随形冷却"])
    ['新材料', '先进制造与自动化']
    """
    texts = list(texts)
    if not texts:
        return []
    names = list(DOMAIN_PROTOTYPES)
    vectoriser, prototypes = _prototype_index()
    similarity = (vectoriser.transform(texts) @ prototypes.T).toarray()
    best = similarity.argmax(axis=1)
    return [names[b] if similarity[i, b] > 0 else "其他" for i, b in enumerate(best)]


@functools.lru_cache(maxsize=1)
def _prototype_index():
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(analyzer=_prototype_terms, sublinear_tf=True)
    return vectoriser, vectoriser.fit_transform(DOMAIN_PROTOTYPES.values())


@functools.lru_cache(maxsize=1)
def _prototype_pattern():
    words = sorted({w.lower() for p in DOMAIN_PROTOTYPES.values() for w in p.split()}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words)))


def _prototype_terms(text):
    # Whole prototype words found in the text, longest first, so "材料" votes for
    # 新材料 while a shared single character such as "料" votes for nothing.
    return _prototype_pattern().findall(str(text).lower())
