from doc2slm.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GenerationMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENERATION_MODE_UNSPECIFIED: _ClassVar[GenerationMode]
    GENERATION_MODE_QUESTION_ANSWER: _ClassVar[GenerationMode]
    GENERATION_MODE_ANSWER_FIRST: _ClassVar[GenerationMode]
GENERATION_MODE_UNSPECIFIED: GenerationMode
GENERATION_MODE_QUESTION_ANSWER: GenerationMode
GENERATION_MODE_ANSWER_FIRST: GenerationMode

class GenerationOptions(_message.Message):
    __slots__ = ("teacher_base_url", "teacher_model", "pairs_per_chunk", "mode", "max_concurrency", "max_requests", "max_tokens", "paraphrase_share", "questions_per_answer")
    TEACHER_BASE_URL_FIELD_NUMBER: _ClassVar[int]
    TEACHER_MODEL_FIELD_NUMBER: _ClassVar[int]
    PAIRS_PER_CHUNK_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PARAPHRASE_SHARE_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_PER_ANSWER_FIELD_NUMBER: _ClassVar[int]
    teacher_base_url: str
    teacher_model: str
    pairs_per_chunk: int
    mode: GenerationMode
    max_concurrency: int
    max_requests: int
    max_tokens: int
    paraphrase_share: float
    questions_per_answer: int
    def __init__(self, teacher_base_url: _Optional[str] = ..., teacher_model: _Optional[str] = ..., pairs_per_chunk: _Optional[int] = ..., mode: _Optional[_Union[GenerationMode, str]] = ..., max_concurrency: _Optional[int] = ..., max_requests: _Optional[int] = ..., max_tokens: _Optional[int] = ..., paraphrase_share: _Optional[float] = ..., questions_per_answer: _Optional[int] = ...) -> None: ...

class GeneratePairsRequest(_message.Message):
    __slots__ = ("request_id", "chunks", "chunks_uri", "options", "cache_uri")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_URI_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CACHE_URI_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    chunks: _containers.RepeatedCompositeFieldContainer[_common_pb2.Chunk]
    chunks_uri: str
    options: GenerationOptions
    cache_uri: str
    def __init__(self, request_id: _Optional[str] = ..., chunks: _Optional[_Iterable[_Union[_common_pb2.Chunk, _Mapping]]] = ..., chunks_uri: _Optional[str] = ..., options: _Optional[_Union[GenerationOptions, _Mapping]] = ..., cache_uri: _Optional[str] = ...) -> None: ...

class GenerationSummary(_message.Message):
    __slots__ = ("chunks_total", "chunks_with_pair", "pairs_kept", "teacher_calls", "chunks_cached", "chunks_failed", "dropped", "stopped_by_budget", "completion_tokens")
    class DroppedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CHUNKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_WITH_PAIR_FIELD_NUMBER: _ClassVar[int]
    PAIRS_KEPT_FIELD_NUMBER: _ClassVar[int]
    TEACHER_CALLS_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_CACHED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FAILED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    STOPPED_BY_BUDGET_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    chunks_total: int
    chunks_with_pair: int
    pairs_kept: int
    teacher_calls: int
    chunks_cached: int
    chunks_failed: int
    dropped: _containers.ScalarMap[str, int]
    stopped_by_budget: bool
    completion_tokens: int
    def __init__(self, chunks_total: _Optional[int] = ..., chunks_with_pair: _Optional[int] = ..., pairs_kept: _Optional[int] = ..., teacher_calls: _Optional[int] = ..., chunks_cached: _Optional[int] = ..., chunks_failed: _Optional[int] = ..., dropped: _Optional[_Mapping[str, int]] = ..., stopped_by_budget: _Optional[bool] = ..., completion_tokens: _Optional[int] = ...) -> None: ...

class GenerationEvent(_message.Message):
    __slots__ = ("pair", "failure", "summary")
    PAIR_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    pair: _common_pb2.QAPair
    failure: _common_pb2.ItemFailure
    summary: GenerationSummary
    def __init__(self, pair: _Optional[_Union[_common_pb2.QAPair, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.ItemFailure, _Mapping]] = ..., summary: _Optional[_Union[GenerationSummary, _Mapping]] = ...) -> None: ...

class SplitDatasetRequest(_message.Message):
    __slots__ = ("request_id", "qa_uri", "out_uri", "seed", "heldout_docs_share", "seen_share", "validation_share")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QA_URI_FIELD_NUMBER: _ClassVar[int]
    OUT_URI_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    HELDOUT_DOCS_SHARE_FIELD_NUMBER: _ClassVar[int]
    SEEN_SHARE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_SHARE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    qa_uri: str
    out_uri: str
    seed: int
    heldout_docs_share: float
    seen_share: float
    validation_share: float
    def __init__(self, request_id: _Optional[str] = ..., qa_uri: _Optional[str] = ..., out_uri: _Optional[str] = ..., seed: _Optional[int] = ..., heldout_docs_share: _Optional[float] = ..., seen_share: _Optional[float] = ..., validation_share: _Optional[float] = ...) -> None: ...

class SplitDatasetResponse(_message.Message):
    __slots__ = ("train_uri", "eval_heldout_questions_uri", "eval_heldout_docs_uri", "eval_seen_uri", "card_uri", "counts", "eval_validation_uri")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TRAIN_URI_FIELD_NUMBER: _ClassVar[int]
    EVAL_HELDOUT_QUESTIONS_URI_FIELD_NUMBER: _ClassVar[int]
    EVAL_HELDOUT_DOCS_URI_FIELD_NUMBER: _ClassVar[int]
    EVAL_SEEN_URI_FIELD_NUMBER: _ClassVar[int]
    CARD_URI_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    EVAL_VALIDATION_URI_FIELD_NUMBER: _ClassVar[int]
    train_uri: str
    eval_heldout_questions_uri: str
    eval_heldout_docs_uri: str
    eval_seen_uri: str
    card_uri: str
    counts: _containers.ScalarMap[str, int]
    eval_validation_uri: str
    def __init__(self, train_uri: _Optional[str] = ..., eval_heldout_questions_uri: _Optional[str] = ..., eval_heldout_docs_uri: _Optional[str] = ..., eval_seen_uri: _Optional[str] = ..., card_uri: _Optional[str] = ..., counts: _Optional[_Mapping[str, int]] = ..., eval_validation_uri: _Optional[str] = ...) -> None: ...
