from doc2slm.v1 import embedding_pb2 as _embedding_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Bucket(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUCKET_UNSPECIFIED: _ClassVar[Bucket]
    BUCKET_ACCEPTABLE: _ClassVar[Bucket]
    BUCKET_BORDERLINE: _ClassVar[Bucket]
    BUCKET_UNACCEPTABLE: _ClassVar[Bucket]
BUCKET_UNSPECIFIED: Bucket
BUCKET_ACCEPTABLE: Bucket
BUCKET_BORDERLINE: Bucket
BUCKET_UNACCEPTABLE: Bucket

class Thresholds(_message.Message):
    __slots__ = ("acceptable", "borderline")
    ACCEPTABLE_FIELD_NUMBER: _ClassVar[int]
    BORDERLINE_FIELD_NUMBER: _ClassVar[int]
    acceptable: float
    borderline: float
    def __init__(self, acceptable: _Optional[float] = ..., borderline: _Optional[float] = ...) -> None: ...

class TextPair(_message.Message):
    __slots__ = ("candidate", "reference")
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    candidate: str
    reference: str
    def __init__(self, candidate: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class ScorePairsRequest(_message.Message):
    __slots__ = ("request_id", "candidates", "references", "texts", "thresholds", "bootstrap_samples", "seed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    candidates: _containers.RepeatedCompositeFieldContainer[_embedding_pb2.Vector]
    references: _containers.RepeatedCompositeFieldContainer[_embedding_pb2.Vector]
    texts: _containers.RepeatedCompositeFieldContainer[TextPair]
    thresholds: Thresholds
    bootstrap_samples: int
    seed: int
    def __init__(self, request_id: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[_embedding_pb2.Vector, _Mapping]]] = ..., references: _Optional[_Iterable[_Union[_embedding_pb2.Vector, _Mapping]]] = ..., texts: _Optional[_Iterable[_Union[TextPair, _Mapping]]] = ..., thresholds: _Optional[_Union[Thresholds, _Mapping]] = ..., bootstrap_samples: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class PairScore(_message.Message):
    __slots__ = ("cosine", "token_f1", "rouge_l", "bucket")
    COSINE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_F1_FIELD_NUMBER: _ClassVar[int]
    ROUGE_L_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    cosine: float
    token_f1: float
    rouge_l: float
    bucket: Bucket
    def __init__(self, cosine: _Optional[float] = ..., token_f1: _Optional[float] = ..., rouge_l: _Optional[float] = ..., bucket: _Optional[_Union[Bucket, str]] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ("low", "high")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    low: float
    high: float
    def __init__(self, low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...

class SetStatistics(_message.Message):
    __slots__ = ("n", "mean", "median", "p10", "p90", "mean_ci95", "share_acceptable", "share_borderline", "share_unacceptable", "mean_token_f1", "mean_rouge_l")
    N_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_FIELD_NUMBER: _ClassVar[int]
    P10_FIELD_NUMBER: _ClassVar[int]
    P90_FIELD_NUMBER: _ClassVar[int]
    MEAN_CI95_FIELD_NUMBER: _ClassVar[int]
    SHARE_ACCEPTABLE_FIELD_NUMBER: _ClassVar[int]
    SHARE_BORDERLINE_FIELD_NUMBER: _ClassVar[int]
    SHARE_UNACCEPTABLE_FIELD_NUMBER: _ClassVar[int]
    MEAN_TOKEN_F1_FIELD_NUMBER: _ClassVar[int]
    MEAN_ROUGE_L_FIELD_NUMBER: _ClassVar[int]
    n: int
    mean: float
    median: float
    p10: float
    p90: float
    mean_ci95: Interval
    share_acceptable: float
    share_borderline: float
    share_unacceptable: float
    mean_token_f1: float
    mean_rouge_l: float
    def __init__(self, n: _Optional[int] = ..., mean: _Optional[float] = ..., median: _Optional[float] = ..., p10: _Optional[float] = ..., p90: _Optional[float] = ..., mean_ci95: _Optional[_Union[Interval, _Mapping]] = ..., share_acceptable: _Optional[float] = ..., share_borderline: _Optional[float] = ..., share_unacceptable: _Optional[float] = ..., mean_token_f1: _Optional[float] = ..., mean_rouge_l: _Optional[float] = ...) -> None: ...

class ScorePairsResponse(_message.Message):
    __slots__ = ("scores", "statistics", "embedding_model")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedCompositeFieldContainer[PairScore]
    statistics: SetStatistics
    embedding_model: str
    def __init__(self, scores: _Optional[_Iterable[_Union[PairScore, _Mapping]]] = ..., statistics: _Optional[_Union[SetStatistics, _Mapping]] = ..., embedding_model: _Optional[str] = ...) -> None: ...

class CompareSystemsRequest(_message.Message):
    __slots__ = ("request_id", "baseline", "candidate", "bootstrap_samples", "seed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    baseline: _containers.RepeatedScalarFieldContainer[float]
    candidate: _containers.RepeatedScalarFieldContainer[float]
    bootstrap_samples: int
    seed: int
    def __init__(self, request_id: _Optional[str] = ..., baseline: _Optional[_Iterable[float]] = ..., candidate: _Optional[_Iterable[float]] = ..., bootstrap_samples: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class CompareSystemsResponse(_message.Message):
    __slots__ = ("mean_difference", "difference_ci95", "win_rate", "tie_rate", "n")
    MEAN_DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_CI95_FIELD_NUMBER: _ClassVar[int]
    WIN_RATE_FIELD_NUMBER: _ClassVar[int]
    TIE_RATE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    mean_difference: float
    difference_ci95: Interval
    win_rate: float
    tie_rate: float
    n: int
    def __init__(self, mean_difference: _Optional[float] = ..., difference_ci95: _Optional[_Union[Interval, _Mapping]] = ..., win_rate: _Optional[float] = ..., tie_rate: _Optional[float] = ..., n: _Optional[int] = ...) -> None: ...

class BuildReportRequest(_message.Message):
    __slots__ = ("request_id", "answers_uri", "out_uri", "thresholds", "bootstrap_samples", "seed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_URI_FIELD_NUMBER: _ClassVar[int]
    OUT_URI_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    answers_uri: str
    out_uri: str
    thresholds: Thresholds
    bootstrap_samples: int
    seed: int
    def __init__(self, request_id: _Optional[str] = ..., answers_uri: _Optional[str] = ..., out_uri: _Optional[str] = ..., thresholds: _Optional[_Union[Thresholds, _Mapping]] = ..., bootstrap_samples: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class BuildReportResponse(_message.Message):
    __slots__ = ("report_uri", "metrics_json")
    REPORT_URI_FIELD_NUMBER: _ClassVar[int]
    METRICS_JSON_FIELD_NUMBER: _ClassVar[int]
    report_uri: str
    metrics_json: str
    def __init__(self, report_uri: _Optional[str] = ..., metrics_json: _Optional[str] = ...) -> None: ...
