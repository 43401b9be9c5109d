from doc2slm.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChunkingOptions(_message.Message):
    __slots__ = ("max_tokens", "overlap_tokens", "backend", "chunks_per_event")
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_TOKENS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_PER_EVENT_FIELD_NUMBER: _ClassVar[int]
    max_tokens: int
    overlap_tokens: int
    backend: str
    chunks_per_event: int
    def __init__(self, max_tokens: _Optional[int] = ..., overlap_tokens: _Optional[int] = ..., backend: _Optional[str] = ..., chunks_per_event: _Optional[int] = ...) -> None: ...

class DocumentHeader(_message.Message):
    __slots__ = ("request_id", "source_name", "uri", "password", "options")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    source_name: str
    uri: str
    password: str
    options: ChunkingOptions
    def __init__(self, request_id: _Optional[str] = ..., source_name: _Optional[str] = ..., uri: _Optional[str] = ..., password: _Optional[str] = ..., options: _Optional[_Union[ChunkingOptions, _Mapping]] = ...) -> None: ...

class ExtractDocumentRequest(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: DocumentHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[DocumentHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ExtractBatchRequest(_message.Message):
    __slots__ = ("request_id", "uris", "options")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    URIS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    uris: _containers.RepeatedScalarFieldContainer[str]
    options: ChunkingOptions
    def __init__(self, request_id: _Optional[str] = ..., uris: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[ChunkingOptions, _Mapping]] = ...) -> None: ...

class DocumentResult(_message.Message):
    __slots__ = ("doc_id", "source", "pages", "chunks", "chars_raw", "chars_kept", "warnings", "failure", "seconds", "pages_recovered", "pages_unrecoverable", "non_content_chars")
    class NonContentCharsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DOC_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    CHARS_RAW_FIELD_NUMBER: _ClassVar[int]
    CHARS_KEPT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    PAGES_RECOVERED_FIELD_NUMBER: _ClassVar[int]
    PAGES_UNRECOVERABLE_FIELD_NUMBER: _ClassVar[int]
    NON_CONTENT_CHARS_FIELD_NUMBER: _ClassVar[int]
    doc_id: str
    source: str
    pages: int
    chunks: int
    chars_raw: int
    chars_kept: int
    warnings: _containers.RepeatedScalarFieldContainer[str]
    failure: _common_pb2.ItemFailure
    seconds: float
    pages_recovered: int
    pages_unrecoverable: int
    non_content_chars: _containers.ScalarMap[str, int]
    def __init__(self, doc_id: _Optional[str] = ..., source: _Optional[str] = ..., pages: _Optional[int] = ..., chunks: _Optional[int] = ..., chars_raw: _Optional[int] = ..., chars_kept: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ..., failure: _Optional[_Union[_common_pb2.ItemFailure, _Mapping]] = ..., seconds: _Optional[float] = ..., pages_recovered: _Optional[int] = ..., pages_unrecoverable: _Optional[int] = ..., non_content_chars: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ChunkBatch(_message.Message):
    __slots__ = ("chunks",)
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunks: _containers.RepeatedCompositeFieldContainer[_common_pb2.Chunk]
    def __init__(self, chunks: _Optional[_Iterable[_Union[_common_pb2.Chunk, _Mapping]]] = ...) -> None: ...

class ExtractionEvent(_message.Message):
    __slots__ = ("chunk", "result", "chunks")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunk: _common_pb2.Chunk
    result: DocumentResult
    chunks: ChunkBatch
    def __init__(self, chunk: _Optional[_Union[_common_pb2.Chunk, _Mapping]] = ..., result: _Optional[_Union[DocumentResult, _Mapping]] = ..., chunks: _Optional[_Union[ChunkBatch, _Mapping]] = ...) -> None: ...
