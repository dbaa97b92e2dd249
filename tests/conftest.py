"""Shared fixtures: small hand-checkable records, the real default embedder, paths to shared data."""
import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "data"
CSL = ROOT.parent / "shared" / "data" / "csl" / "csl_papers.tsv"


@pytest.fixture(scope="session")
def csl():
    """The 1,989 real CSL papers from ../shared (skipped where a clone has no ../shared)."""
    if not CSL.is_file():
        pytest.skip(f"real Chinese papers not found at {CSL} (../shared/data/csl is beside the checkout in CI)")
    return pd.read_csv(CSL, sep="\t", dtype=str, keep_default_na=False)


@pytest.fixture
def needs():
    return pd.DataFrame({
        "id": ["N1", "N2", "N3", "N4"],
        "org": ["东岭压铸有限公司", "华芯功率半导体有限公司", "绿源材料科技有限公司", "星河航天技术研究所"],
        "title": ["压铸件气孔多", "SiC MOSFET 栅氧可靠性", "聚乳酸餐具耐热性不足", "卫星结构件轻量化"],
        "description": [
            "铝合金压铸壳体内部气孔多，X光检测不合格率8%，希望降到2%以下。",
            "我们的SiC MOSFET在高温栅偏试验中阈值漂移大，需要改进栅氧工艺，提高可靠性。",
            "PLA餐具在80度热水中变形，希望热变形温度提高到100度以上，成本增加不超过10%。",
            "需要把卫星支架减重30%，同时保持刚度和抗振性能。",
        ],
        "domain": ["先进制造与自动化", "电子信息", "新材料", ""],
        "clearance": ["无", "三级", "无", "二级"],
    })


@pytest.fixture
def capabilities():
    return pd.DataFrame({
        "id": ["C1", "C2", "C3", "C4", "C5"],
        "org": ["江川理工大学", "星河航天技术研究所", "国家功率器件实验室", "江川理工大学", "华芯功率半导体有限公司"],
        "title": ["真空压铸与局部挤压补缩", "碳纤维复合材料结构拓扑优化", "碳化硅功率器件栅介质工艺",
                  "聚乳酸结晶成核改性", "SiC 模块封装"],
        "description": [
            "基于凝固模拟的排气系统优化与真空压铸工艺，铸件气孔率降低70%。",
            "复合材料结构拓扑优化与铺层设计，航天结构件减重35%，已用于多个型号。",
            "研究SiC MOSFET栅氧界面态钝化，高温栅偏阈值漂移小于0.1V。",
            "通过成核剂与退火工艺提高聚乳酸结晶度，热变形温度可达110度。",
            "SiC功率模块银烧结封装。",
        ],
        "domain": ["先进制造与自动化", "新材料", "电子信息", "新材料", "电子信息"],
        "classification": ["公开", "秘密", "内部", "公开", "公开"],
    })


@pytest.fixture(scope="session")
def embedder(tmp_path_factory):
    """The real packaged default model, loaded once per session (built into the user cache)."""
    from matcher import Embedder

    return Embedder(cache_dir=os.environ.get("MATCHER_CACHE_DIR") or None)
