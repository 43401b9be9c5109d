"""The doc2slm pipeline: extract -> generate QA -> split -> fine-tune -> evaluate -> deploy.

One function serves both worlds: compiled to the committed YAML for Kubeflow Pipelines (defaults are
the cluster's: Service DNS names, s3:// URIs, a GPU fine-tune step), and run by kfp.local on a laptop
with local overrides (127.0.0.1 addresses, file:// URIs, CPU). There is no ParallelFor or Condition on
this path: kfp.local's subprocess runner runs plain DAGs, and choices such as "Trainer job or this pod"
are parameters the steps read.
"""

from pathlib import Path

from kfp import compiler, dsl

from doc2slm_pipelines.components.deploy import deploy
from doc2slm_pipelines.components.evaluate import evaluate
from doc2slm_pipelines.components.extract import extract
from doc2slm_pipelines.components.finetune import finetune
from doc2slm_pipelines.components.generate_qa import generate_qa
from doc2slm_pipelines.components.images import (
    ALL_IMAGE_NAMES,
    DEFAULT_REGISTRY,
    DEFAULT_TAG,
    PIPELINES_GPU_IMAGE,
    image,
)
from doc2slm_pipelines.components.split import split
from doc2slm_pipelines.platform_config import schedule_on_gpu_nodes, use_object_store, use_pipeline_identity

PIPELINE_NAME = "doc2slm"
COMPILED_PATH = Path(__file__).parent / "compiled" / "doc2slm_pipeline.yaml"

# Steps that talk to services or object storage can fail for a moment (a pod rescheduled, a throttled
# bucket): retry them with backoff. A domain error fails again at once and costs only the retry.
NETWORK_RETRIES = 2
TRAINING_RETRIES = 1  # a preempted GPU node: the retry resumes from the last checkpoint
RETRY_BACKOFF = "30s"


@dsl.pipeline(name=PIPELINE_NAME,
              description="PDFs -> teacher QA pairs -> LoRA/QLoRA fine-tune -> base vs tuned report -> KServe")
def doc2slm_pipeline(
    docs_uri: str = "s3://doc2slm/docs/",
    work_uri: str = "s3://doc2slm/runs/latest",
    extraction_address: str = "doc2slm-extraction:50051",
    qagen_address: str = "doc2slm-qagen:50052",
    scoring_address: str = "doc2slm-scoring:50054",
    chunk_max_tokens: int = 0,
    chunk_overlap_tokens: int = 0,
    max_chunks: int = 0,
    teacher_base_url: str = "",
    teacher_model: str = "",
    pairs_per_chunk: int = 0,
    questions_per_answer: int = 0,
    generation_mode: str = "",
    paraphrase_share: float = -1.0,
    max_teacher_requests: int = 0,
    split_seed: int = 0,
    heldout_docs_share: float = 0.2,
    seen_share: float = 0.1,
    validation_share: float = 0.25,
    base_model: str = "bundled",
    finetune_config: str = "{}",
    accelerator_type: str = "nvidia.com/gpu",
    accelerator_limit: int = 1,
    gpu_node_selector: dict = {},  # noqa: B006 - KFP reads defaults from the signature
    gpu_tolerations: list = [],  # noqa: B006
    trainer_nodes: int = 0,
    trainer_gpus_per_node: int = 1,
    trainer_image: str = PIPELINES_GPU_IMAGE,
    trainer_namespace: str = "doc2slm",
    trainer_kind: str = "auto",
    max_eval_questions: int = 200,
    max_new_tokens: int = 64,
    deploy_mode: str = "kserve",
    model_name: str = "doc2slm",
    adapter_name: str = "doc2slm-adapter",
    serving_namespace: str = "doc2slm",
    predictor_image: str = image("serving"),
    predictor_gpus: int = 1,
    local_http_port: int = 8090,
    quality_gate_min_gain: float = 0.0,
    enforce_quality_gate: bool = True,
    pipeline_token_secret: str = "doc2slm-pipeline-token",
    cluster_config_map: str = "doc2slm-config",
    pipeline_storage_secret: str = "doc2slm-object-store",
) -> None:
    """PDFs under docs_uri -> chunks -> teacher QA pairs -> split -> LoRA/QLoRA adapter -> report -> served.

    "Use the default" is spelled one way. A parameter whose default belongs to a service (chunk sizes,
    teacher, generation knobs, split seed) is left to that service's setting by the value its request
    field has when unset: "" for text, 0 for counts and seeds, and a negative number for shares, because
    0.0 is a real share (no paraphrases, no held-out documents). Every other default is a value of the run
    and is sent as given: the split shares are pinned to the qagen service's defaults so that a run's
    evaluation sets do not move with how a cluster configured that service. The flags of `doc2slm qagen`
    and `doc2slm split` for these knobs take the same names (with dashes), defaults and meanings.

    Args:
        docs_uri: One PDF, or the prefix whose *.pdf files are the corpus.
        work_uri: Prefix every step writes its data and cards under (one run, one prefix).
        extraction_address: HOST:PORT of ExtractionService.
        qagen_address: HOST:PORT of QAGenService (generation and split).
        scoring_address: HOST:PORT of ScoringService (the report; its own settings give the thresholds and
            resamples, and it embeds the answers through the EmbeddingService it is configured with).
        chunk_max_tokens: Most tokens per chunk; 0: the extraction service's setting.
        chunk_overlap_tokens: Tokens repeated between neighbouring chunks; 0: the extraction service's
            setting.
        max_chunks: Keep at most this many chunks, spread over documents (seeded by split_seed); 0: all.
        teacher_base_url: OpenAI-compatible base URL of the teacher; "": the qagen service's setting.
        teacher_model: Teacher model name; "": the qagen service's setting.
        pairs_per_chunk: Answers (or QA pairs) asked for per chunk; 0: the qagen service's setting.
        questions_per_answer: answer_first: training questions per answer sentence; 0: the qagen
            service's setting.
        generation_mode: question_answer or answer_first (weak teachers); "": the qagen service's setting.
        paraphrase_share: Share of chunks whose questions are asked again in other words, the held-out
            questions (0 to 1); negative: the qagen service's setting.
        max_teacher_requests: Stop generating after this many teacher requests; 0: the qagen service's
            budget (a run may lower it, never raise it).
        split_seed: Seed of the split and of the max_chunks sample; 0: the qagen service's split seed.
        heldout_docs_share: Share of documents held back whole (with 3 documents or more); negative: the
            qagen service's setting.
        seen_share: Share of train pairs copied into eval_seen; negative: the qagen service's setting.
        validation_share: Share of held-out questions set aside to pick the checkpoint on; negative: the
            qagen service's setting.
        base_model: "bundled" (SmolLM2-135M-Instruct), a local path, an s3:// prefix or a Hugging Face id.
        finetune_config: JSON object of fine-tuning settings (rank, epochs, learning rate, ...); "{}": the
            defaults.
        accelerator_type: Accelerator resource of the fine-tune and evaluate pods.
        accelerator_limit: Accelerators per fine-tune and evaluate pod.
        gpu_node_selector: Node selector of the GPU pods (JSON object); {}: none.
        gpu_tolerations: Tolerations of the GPU pods (JSON list, or one object); []: none.
        trainer_nodes: 0: fine-tune in the step's pod; more: a TrainJob/PyTorchJob over this many nodes.
        trainer_gpus_per_node: GPUs per node of the Trainer job.
        trainer_image: Image of the Trainer job's pods.
        trainer_namespace: Namespace the Trainer job is created in.
        trainer_kind: auto, TrainJob or PyTorchJob (auto: whichever API the cluster serves).
        max_eval_questions: Most questions answered by the base and the tuned model, from every set in turn.
        max_new_tokens: Longest answer generated in the evaluation, in tokens (the references are one sentence).
        deploy_mode: kserve (InferenceService), local (a predictor on this machine) or none (record only).
        model_name: Name the tuned model is served under.
        adapter_name: Name of the adapter in the predictor.
        serving_namespace: Namespace of the InferenceService (kserve).
        predictor_image: Image of the predictor the InferenceService runs (kserve).
        predictor_gpus: GPUs of the predictor (kserve); 0: CPU.
        local_http_port: HTTP port of the local predictor (local).
        quality_gate_min_gain: Least mean gain of the tuned model over its base on held-out questions for
            the adapter to be published; 0: never worse than its base.
        enforce_quality_gate: False: publish even an adapter that fails the gate (the card still says so).
        pipeline_token_secret: Secret with the token of the chart's pipeline account, mounted by the
            fine-tune and deploy steps only (optional: without it they use the pod's own account).
        cluster_config_map: ConfigMap of the chart's cluster policy (allowed images, training pod labels and
            account), read by the fine-tune and deploy steps (optional: without it, their defaults), and of
            the object store's address (MINIO_ENDPOINT, MINIO_SECURE), read by every step.
        pipeline_storage_secret: Secret with the object-store keys every step uses (keys MINIO_ACCESS_KEY
            and MINIO_SECRET_KEY); the training job's pods get the chart's objectStore.identities.training secret.
    """
    chunks = extract(docs_uri=docs_uri, work_uri=work_uri, extraction_address=extraction_address,
                     chunk_max_tokens=chunk_max_tokens, chunk_overlap_tokens=chunk_overlap_tokens,
                     max_chunks=max_chunks, sample_seed=split_seed)
    pairs = generate_qa(chunks_uri=chunks.outputs["chunks_uri"], work_uri=work_uri, qagen_address=qagen_address,
                        teacher_base_url=teacher_base_url, teacher_model=teacher_model,
                        pairs_per_chunk=pairs_per_chunk, questions_per_answer=questions_per_answer,
                        generation_mode=generation_mode,
                        paraphrase_share=paraphrase_share, max_teacher_requests=max_teacher_requests)
    sets = split(qa_uri=pairs.outputs["qa_uri"], work_uri=work_uri, qagen_address=qagen_address,
                 split_seed=split_seed, heldout_docs_share=heldout_docs_share, seen_share=seen_share,
                 validation_share=validation_share)
    # The fine-tune step picks its checkpoint on the validation slice, never on the reported held-out set.
    tuned = finetune(train_uri=sets.outputs["train_uri"], eval_uri=sets.outputs["eval_validation_uri"],
                     chunks_uri=chunks.outputs["chunks_uri"], work_uri=work_uri, base_model=base_model,
                     finetune_config=finetune_config, trainer_nodes=trainer_nodes,
                     trainer_gpus_per_node=trainer_gpus_per_node, trainer_image=trainer_image,
                     trainer_namespace=trainer_namespace, trainer_kind=trainer_kind,
                     gpu_node_selector=gpu_node_selector, gpu_tolerations=gpu_tolerations)
    report = evaluate(eval_heldout_questions_uri=sets.outputs["eval_heldout_questions_uri"],
                      eval_heldout_docs_uri=sets.outputs["eval_heldout_docs_uri"],
                      eval_seen_uri=sets.outputs["eval_seen_uri"], adapter_uri=tuned.outputs["adapter_uri"],
                      work_uri=work_uri, scoring_address=scoring_address, base_model=base_model,
                      max_eval_questions=max_eval_questions, max_new_tokens=max_new_tokens)
    published = deploy(adapter_uri=tuned.outputs["adapter_uri"], work_uri=work_uri,
                       report_uri=report.outputs["report_uri"], deploy_mode=deploy_mode, model_name=model_name,
                       adapter_name=adapter_name, base_model=base_model, namespace=serving_namespace,
                       predictor_image=predictor_image, predictor_gpus=predictor_gpus,
                       local_http_port=local_http_port, quality_gate_min_gain=quality_gate_min_gain,
                       enforce_quality_gate=enforce_quality_gate)

    for task in (chunks, pairs, sets, report, published):
        task.set_retry(num_retries=NETWORK_RETRIES, backoff_duration=RETRY_BACKOFF, backoff_factor=2.0)
    tuned.set_retry(num_retries=TRAINING_RETRIES, backoff_duration=RETRY_BACKOFF)
    # Every step reads and writes object storage by URI; KFP's cache keys on the URI strings, not on
    # what is behind them, so a cached step would hand on stale data. The steps are idempotent on their
    # own (content-hash ids, the teacher cache, the adapter fingerprint), which makes re-runs cheap anyway.
    for task in (chunks, pairs, sets, tuned, report, published):
        task.set_caching_options(enable_caching=False)
    for task in (tuned, report):
        task.set_accelerator_type(accelerator_type).set_accelerator_limit(accelerator_limit)
        schedule_on_gpu_nodes(task, gpu_node_selector, gpu_tolerations)
    for task in (chunks, pairs, sets, tuned, report, published):
        use_object_store(task, pipeline_storage_secret, cluster_config_map)
    for task in (tuned, published):
        use_pipeline_identity(task, pipeline_token_secret, cluster_config_map)
    tuned.set_display_name("fine-tune (LoRA / QLoRA)")
    report.set_display_name("answer and evaluate")


def compile_pipeline(path: Path = COMPILED_PATH, registry: str = DEFAULT_REGISTRY, tag: str = DEFAULT_TAG) -> Path:
    """Write the pipeline spec YAML (the committed one by default), with images from `registry`/`tag`.

    Component images are constants of the component definitions; another registry or tag is applied
    to the compiled text, where every image (executors and the image parameters' defaults) is named.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline_func=doc2slm_pipeline, package_path=str(path))
    if (registry, tag) != (DEFAULT_REGISTRY, DEFAULT_TAG):
        text = path.read_text()
        for name in ALL_IMAGE_NAMES:
            text = text.replace(image(name), image(name, registry, tag))
        path.write_text(text)
    return path
