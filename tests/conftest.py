"""Shared fixtures: small hand-checkable records, the real default embedder (loaded once per test process),
real CSL papers, and web apps on real SQLite files (helpers for them are in ``webapp_helpers.py``)."""
import logging
import os
import shutil

import pandas as pd
import pytest
from webapp_helpers import CSL, admin_client, create_event, db_session, load_sample, make_app, rank

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class _ModelLoads(logging.Handler):
    """Counts the e5 models this test process loads (each load logs its variant once)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.variants = []

    def emit(self, record):
        if record.getMessage().startswith("e5 variant "):
            self.variants.append(record.args[0])


MODEL_LOADS = _ModelLoads()


def pytest_configure(config):
    logger = logging.getLogger("matcher.e5")
    logger.addHandler(MODEL_LOADS)
    logger.setLevel(min(logger.level or logging.WARNING, logging.INFO))


def pytest_terminal_summary(terminalreporter):
    # The default model is shared per process (matcher.e5.load_default_model); the other loads are
    # the variant tests in test_e5.py, which load fp32/int8 copies on purpose.
    if MODEL_LOADS.variants:
        terminalreporter.write_line(f"e5 models loaded in this process: {len(MODEL_LOADS.variants)} "
                                    f"({', '.join(MODEL_LOADS.variants)})")


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


# --- web app ---------------------------------------------------------------------------------------------


@pytest.fixture
def app(request, tmp_path):
    if "sample_event" in request.fixturenames:
        # Start from a copy of the ranked sample event, built once per session.
        template = request.getfixturevalue("sample_template")
        shutil.copy(template / "webapp.sqlite", tmp_path / "webapp.sqlite")
        shutil.copytree(template / "instance", tmp_path / "instance")
    app = make_app(tmp_path)
    yield app
    app.extensions["matcher_jobs"].shutdown()


@pytest.fixture
def client(app):
    return admin_client(app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory):
    """A database holding the sample event, imported through the web forms and ranked (lexical only)."""
    folder = tmp_path_factory.mktemp("sample-event")
    app = make_app(folder)
    client = admin_client(app)
    event_id = create_event(client, "示例对接会", tracks=["电子信息", "新材料", "先进制造与自动化", "高技术服务", "生物医药"],
                            slots="6", tables="20", max_meetings="4")
    assert event_id == 1
    load_sample(client, event_id)
    from webapp.models import Event
    from webapp.services.events import verify_declared_qualifications

    with app.app_context():  # as `flask load-sample` does: the sample qualifications count as verified
        verify_declared_qualifications(db_session().get(Event, event_id))
    rank(client, event_id)
    app.extensions["matcher_jobs"].shutdown()
    from webapp.db import db

    with app.app_context():
        db.engine.dispose()  # closes the last connection, which checkpoints the WAL into the file
    return folder


@pytest.fixture
def sample_event(app):
    """The id of the ranked sample event in this test's own copy of the database."""
    return 1
