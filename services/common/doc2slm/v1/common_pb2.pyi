from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Chunk(_message.Message):
    __slots__ = ("doc_id", "chunk_id", "source", "page_start", "page_end", "text", "n_tokens", "char_start", "char_end")
    DOC_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_START_FIELD_NUMBER: _ClassVar[int]
    PAGE_END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    N_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CHAR_START_FIELD_NUMBER: _ClassVar[int]
    CHAR_END_FIELD_NUMBER: _ClassVar[int]
    doc_id: str
    chunk_id: str
    source: str
    page_start: int
    page_end: int
    text: str
    n_tokens: int
    char_start: int
    char_end: int
    def __init__(self, doc_id: _Optional[str] = ..., chunk_id: _Optional[str] = ..., source: _Optional[str] = ..., page_start: _Optional[int] = ..., page_end: _Optional[int] = ..., text: _Optional[str] = ..., n_tokens: _Optional[int] = ..., char_start: _Optional[int] = ..., char_end: _Optional[int] = ...) -> None: ...

class QAPair(_message.Message):
    __slots__ = ("question", "answer", "chunk_id", "doc_id", "page_start", "page_end", "teacher", "prompt_version", "paraphrase_question", "pair_id", "source")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    DOC_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_START_FIELD_NUMBER: _ClassVar[int]
    PAGE_END_FIELD_NUMBER: _ClassVar[int]
    TEACHER_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PARAPHRASE_QUESTION_FIELD_NUMBER: _ClassVar[int]
    PAIR_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    question: str
    answer: str
    chunk_id: str
    doc_id: str
    page_start: int
    page_end: int
    teacher: str
    prompt_version: str
    paraphrase_question: str
    pair_id: str
    source: str
    def __init__(self, question: _Optional[str] = ..., answer: _Optional[str] = ..., chunk_id: _Optional[str] = ..., doc_id: _Optional[str] = ..., page_start: _Optional[int] = ..., page_end: _Optional[int] = ..., teacher: _Optional[str] = ..., prompt_version: _Optional[str] = ..., paraphrase_question: _Optional[str] = ..., pair_id: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class ItemFailure(_message.Message):
    __slots__ = ("item_id", "code", "message")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    code: str
    message: str
    def __init__(self, item_id: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
