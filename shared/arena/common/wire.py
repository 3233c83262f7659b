"""Conversion between the pydantic schemas and their protobuf messages, in one place.

Every message in ``proto/arena/v2`` that mirrors a schema has the schema's class name and field
names, so one converter serves them all: it walks the model's fields and the message
descriptor together. The few shapes proto cannot say directly follow three rules:

- a discriminated union (``EngineProfile``, ``Benchmark``) is a message with one ``oneof``
  whose cases are named by the discriminator and typed by the member classes; the
  discriminator field itself is implied by the case and not on the wire;
- a union of plain values (``ArgValue``) is a ``oneof`` with one case per Python type, so an
  ``int`` stays an ``int``;
- a message with a single field wraps what a map value cannot be directly (a list, a map,
  an optional message).

A ``list[float]`` field whose message has a ``bytes`` twin named ``<field>_packed`` travels
packed there (little-endian float64, ``schemas.packed``), never as repeated doubles.

A proto enum carries a ``StrEnum`` of the shared vocabulary (``Role``, ``JobState``) by member
name: proto style names the values ``<ENUM_NAME>_<MEMBER>`` (``USER_ROLE_ADMIN`` is
``Role.ADMIN``); ``enum_number`` and ``enum_member`` convert one value outside a model.

Open-ended ``dict[str, Any]`` fields travel as ``google.protobuf.Struct`` (JSON numbers).
Proto maps carry no order: decoded dicts list their keys in natural order (``2000`` before
``10000``), so output built from them is stable.

Only this module, the controller's servicers, the agent's link and the client's API import
``arena.common.pb``.
"""

import math
import re
import types
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
)

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct, Value
from pydantic import BaseModel

from arena.common.schemas.packed import pack_floats, unpack_floats

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

ModelT = TypeVar("ModelT", bound=BaseModel)
MessageT = TypeVar("MessageT", bound=Message)
EnumT = TypeVar("EnumT", bound=Enum)
NumberT = TypeVar("NumberT", bound=int)

_INTEGERS = {
    FieldDescriptor.CPPTYPE_INT32,
    FieldDescriptor.CPPTYPE_INT64,
    FieldDescriptor.CPPTYPE_UINT32,
    FieldDescriptor.CPPTYPE_UINT64,
}
_FLOATS = {FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT}


def to_message(model: BaseModel, message_type: type[MessageT]) -> MessageT:
    """The message mirroring ``model``."""
    message = message_type()
    _fill(message, model)
    return message


def from_message(message: Message, model_type: type[ModelT]) -> ModelT:
    """The model a message mirrors, validated like any other input."""
    return model_type.model_validate(_model_data(message, model_type))


def flat_columns(messages: Sequence[Message], model_type: type[BaseModel]) -> dict[str, list[Any]]:
    """Every field of many flat messages mirroring ``model_type``, one list per field, the
    model's default where a message has no value and float lists packed as sent:
    the sample-ingest fast path, without a model, a dict or a float object per message.

    Only for models whose fields are scalars or lists of floats, without constraints or
    validators: there the message's own types (int64 an int, double a float) are all that
    validation would check.
    """
    if not messages:
        return {}
    messages = list(messages)  # a repeated field makes a new wrapper per element at each pass
    key = (type(messages[0]), model_type)
    plan = _FLAT_PLANS.get(key) or _FLAT_PLANS.setdefault(key, _flat_plan(*key))
    columns: dict[str, list[Any]] = {}
    for name, optional, twin, default in plan:
        if twin:
            columns[name] = [getattr(m, twin) for m in messages]
        elif optional:
            columns[name] = [getattr(m, name) if m.HasField(name) else default for m in messages]
        else:
            columns[name] = [getattr(m, name) for m in messages]
    return columns


FlatPlan = list[tuple[str, bool, str, Any]]
_FLAT_PLANS: dict[tuple[type[Message], type[BaseModel]], FlatPlan] = {}


def _flat_plan(message_type: type[Message], model_type: type[BaseModel]) -> FlatPlan:
    """(name, has presence, packed twin or "", default) per field; a TypeError for models it
    cannot read without validation."""
    decorators = model_type.__pydantic_decorators__
    if decorators.field_validators or decorators.model_validators:
        raise TypeError(f"{model_type.__name__} has validators: use from_message")
    fields = _descriptor(message_type()).fields_by_name
    plan = []
    for name, info in model_type.model_fields.items():
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if packed_twin(name) in fields:
            plan.append((name, False, packed_twin(name), default))
            continue
        field = fields.get(name)
        if (
            field is None
            or field.message_type is not None
            or field.is_repeated
            or _constrained(info.metadata)
        ):
            raise TypeError(f"{model_type.__name__}.{name} is not a plain scalar field")
        plan.append((name, field.has_presence, "", default))
    return plan


def _constrained(metadata: list[Any]) -> bool:
    """Whether a field carries validation constraints (SQLModel's column options do not)."""
    return any(
        type(item).__module__.split(".")[0] in ("annotated_types", "pydantic") for item in metadata
    )


def set_field(message: Message, name: str, value: Any) -> None:
    """Set one field of a request from a schema value (a model, list, dict, ...)."""
    _set(message, _descriptor(message).fields_by_name[name], value)


def get_field(message: Message, name: str, annotation: Any) -> Any:
    """One field of a message as plain data for ``annotation`` (validate it with pydantic)."""
    return _get(message, _descriptor(message).fields_by_name[name], annotation)


def enum_number(member: Enum, wire_enum: "_EnumTypeWrapper[NumberT]") -> NumberT:
    """The number of ``member`` in the proto enum ``wire_enum`` (``user_pb2.UserRole``)."""
    return wire_enum.Value(_wire_name(member, wire_enum.DESCRIPTOR))


def enum_member(number: int, wire_enum: "_EnumTypeWrapper[Any]", kind: type[EnumT]) -> EnumT:
    """The member of ``kind`` a proto enum number stands for; a ValueError for a number that
    names none (the unspecified 0, a value ``kind`` does not have, one from a newer peer)."""
    name = _enum_name(number, wire_enum.DESCRIPTOR)
    if name not in kind.__members__:
        raise ValueError(f"{wire_enum.DESCRIPTOR.name} {number} is no {kind.__name__}")
    return kind[name]


def packed_twin(name: str) -> str:
    """The ``bytes`` field that carries the float list ``name`` packed, where there is one."""
    return f"{name}_packed"


def _descriptor(message: Message) -> Descriptor:
    """The message's descriptor (the stubs type the upb backend's classes apart)."""
    return cast(Descriptor, message.DESCRIPTOR)


def _map_value(field: FieldDescriptor) -> FieldDescriptor:
    return cast(FieldDescriptor, field.message_type.fields_by_name["value"])  # type: ignore[union-attr]


# --- model -> message ---------------------------------------------------------------------


def _fill(message: Message, model: BaseModel) -> None:
    fields = _descriptor(message).fields_by_name
    for name, info in type(model).model_fields.items():
        if packed_twin(name) in fields:
            setattr(message, packed_twin(name), pack_floats(getattr(model, name)))
        elif name in fields:
            _set(message, fields[name], getattr(model, name))
        elif _literal_tag(info.annotation) is None:
            raise TypeError(f"{message.DESCRIPTOR.full_name} has no field {name!r}")


def _set(message: Message, field: FieldDescriptor, value: Any) -> None:
    if value is None:
        return  # absent: proto3 `optional` or a message field keeps presence
    if _is_map(field):
        entries = getattr(message, field.name)
        value_field = _map_value(field)
        for key, item in value.items():
            if value_field.message_type is None:
                entries[key] = item
            else:
                _encode_into(entries[key], item)
    elif field.is_repeated:
        items = getattr(message, field.name)
        for item in value:
            if field.message_type is None:
                items.append(item)
            else:
                _encode_into(items.add(), item)
    elif field.message_type is not None:
        child = getattr(message, field.name)
        child.SetInParent()
        _encode_into(child, value)
    elif field.enum_type is not None and isinstance(value, Enum):
        number = field.enum_type.values_by_name[_wire_name(value, field.enum_type)].number
        setattr(message, field.name, number)
    else:
        setattr(message, field.name, value)


def _encode_into(target: Message, value: Any) -> None:
    descriptor = _descriptor(target)
    if isinstance(target, Struct):
        target.update(value)
    elif isinstance(value, BaseModel) and descriptor.name == type(value).__name__:
        _fill(target, value)
    elif _is_union(descriptor):
        _set(target, _case_for(descriptor, value), value)
    elif len(descriptor.fields) == 1:
        _set(target, descriptor.fields[0], value)
    else:
        raise TypeError(f"cannot put {type(value).__name__} into {descriptor.full_name}")


def _case_for(descriptor: Descriptor, value: Any) -> FieldDescriptor:
    """The oneof case that holds ``value``: by class name for models, else by Python type."""
    for case in descriptor.fields:
        if isinstance(value, BaseModel):
            if case.message_type is not None and case.message_type.name == type(value).__name__:
                return case
        elif _holds(case, value):
            return case
    raise TypeError(f"{descriptor.full_name} has no case for {value!r}")


def _holds(case: FieldDescriptor, value: Any) -> bool:
    if isinstance(value, bool):
        return case.cpp_type == FieldDescriptor.CPPTYPE_BOOL
    if isinstance(value, int):
        return case.cpp_type in _INTEGERS
    if isinstance(value, float):
        return case.cpp_type in _FLOATS
    if isinstance(value, str):
        return case.cpp_type == FieldDescriptor.CPPTYPE_STRING
    return case.message_type is not None


# --- message -> model data ----------------------------------------------------------------


def _model_data(message: Message, model_type: type[BaseModel]) -> dict[str, Any]:
    fields = _descriptor(message).fields_by_name
    data: dict[str, Any] = {}
    for name, info in model_type.model_fields.items():
        twin = packed_twin(name)
        if twin in fields:
            data[name] = unpack_floats(getattr(message, twin))
        elif name in fields:
            field = fields[name]
            if field.has_presence and not message.HasField(name) and not info.is_required():
                continue  # absent: the schema's default (a field an older peer does not know)
            data[name] = _get(message, field, info.annotation)
        else:
            data[name] = _literal_tag(info.annotation)  # the discriminator the case implied
    return data


def _get(message: Message, field: FieldDescriptor, annotation: Any) -> Any:
    if field.has_presence and not message.HasField(field.name):
        return None
    raw = getattr(message, field.name)
    if field.enum_type is not None and not field.is_repeated:
        return _enum_data(raw, field.enum_type, _strip(annotation))
    if field.message_type is None:  # a scalar or a list of them: nothing to walk
        return list(raw) if field.is_repeated else raw
    kind = _strip(annotation)
    if _is_map(field):
        item_type = _strip(_args(kind, 2)[1])
        if _map_value(field).message_type is None:
            return {key: raw[key] for key in _natural(raw)}
        return {key: _decode(raw[key], item_type) for key in _natural(raw)}
    if field.is_repeated:
        item_type = _strip(_args(kind, 1)[0])
        return [_decode(item, item_type) for item in raw]
    return _decode(raw, kind)


def _decode(message: Message, kind: Any) -> Any:
    descriptor = _descriptor(message)
    if isinstance(message, Struct):
        return {key: _plain(message.fields[key]) for key in _natural(message.fields)}
    model = _model_named(kind, descriptor.name)
    if model is not None:
        return _model_data(message, model)
    if _is_union(descriptor):
        name = message.WhichOneof(descriptor.oneofs[0].name)
        if name is None:
            return None
        case = descriptor.fields_by_name[name]
        if case.message_type is None:
            return getattr(message, name)
        member = _model_named(kind, case.message_type.name)
        return _decode(getattr(message, name), member or _container_in(kind))
    if len(descriptor.fields) == 1:
        return _get(message, descriptor.fields[0], kind)
    raise TypeError(f"cannot read {descriptor.full_name} as {kind}")


def _plain(value: Value) -> Any:
    """A Struct value as JSON data; integral numbers come back as ``int``."""
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        return {key: _plain(fields[key]) for key in _natural(fields)}
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        return int(number) if math.isfinite(number) and number.is_integer() else number
    if kind in ("string_value", "bool_value"):
        return getattr(value, kind)
    return None


# --- types --------------------------------------------------------------------------------


def _enum_prefix(enum: EnumDescriptor) -> str:
    """``USER_ROLE_`` for ``UserRole``: what proto style puts before each value's name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def _wire_name(member: Enum, enum: EnumDescriptor) -> str:
    """``USER_ROLE_ADMIN`` for ``Role.ADMIN`` in ``UserRole``."""
    return _enum_prefix(enum) + member.name


def _enum_name(number: int, enum: EnumDescriptor) -> str:
    """The value's name without the enum's prefix (``ADMIN``); empty for an unknown number."""
    value = enum.values_by_number.get(number)
    return value.name.removeprefix(_enum_prefix(enum)) if value is not None else ""


def _enum_data(number: int, enum: EnumDescriptor, kind: Any) -> Any:
    """The member of an ``Enum`` field that ``number`` names, else its name for validation to
    refuse; the number itself for a plain ``int`` field."""
    if not (isinstance(kind, type) and issubclass(kind, Enum)):
        return number
    name = _enum_name(number, enum)
    return kind[name] if name in kind.__members__ else name


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_union(descriptor: Descriptor) -> bool:
    """One real oneof covering every field (proto3 `optional` makes one-field oneofs)."""
    oneofs = descriptor.oneofs
    return len(oneofs) == 1 and len(oneofs[0].fields) == len(descriptor.fields) > 1


def _strip(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` to ``X``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if _is_type_union(annotation):
        members = [m for m in get_args(annotation) if m is not type(None)]
        if len(members) == 1:
            return _strip(members[0])
    return annotation


def _is_type_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _members(annotation: Any) -> list[Any]:
    if _is_type_union(annotation):
        return [_strip(m) for m in get_args(annotation)]
    return [annotation]


def _model_named(annotation: Any, name: str) -> type[BaseModel] | None:
    for member in _members(annotation):
        is_class = isinstance(member, type) and get_origin(member) is None
        if is_class and issubclass(member, BaseModel) and member.__name__ == name:
            return cast(type[BaseModel], member)
    return None


def _container_in(annotation: Any) -> Any:
    """The list or dict member of a union (a wrapped oneof case)."""
    for member in _members(annotation):
        if get_origin(member) in (list, dict):
            return member
    return Any


def _args(annotation: Any, count: int) -> tuple[Any, ...]:
    args = get_args(annotation)
    return args if len(args) == count else (Any,) * count


def _literal_tag(annotation: Any) -> Any:
    """The value of a one-value ``Literal`` field (a union discriminator), else ``None``."""
    annotation = _strip(annotation)
    if get_origin(annotation) is Literal and len(get_args(annotation)) == 1:
        return get_args(annotation)[0]
    return None


def _natural(mapping: Mapping[str, Any]) -> list[str]:
    """Keys with their digit runs compared as numbers: ``c2`` < ``c10``, ``2000`` < ``10000``."""

    def key(text: str) -> list[tuple[int, int | str]]:
        parts = re.split(r"([0-9]+)", text)
        numbered = [(0, int(p)) if p[:1].isascii() and p[:1].isdigit() else (1, p) for p in parts]
        return [*numbered, (2, text)]  # the text itself breaks ties such as a1 / a01

    return sorted(mapping, key=key)
