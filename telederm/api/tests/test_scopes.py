"""SMART on FHIR scopes: examples, then properties over generated scopes and near-misses."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telederm.api.scopes import (
    CONTEXTS,
    LETTERS,
    Scope,
    ScopeError,
    allows,
    granted,
    parse_scope,
    parse_scopes,
    required_letters,
)

# --- examples -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "context", "resource_type", "letters"),
    [
        ("patient/*.read", "patient", "*", "rs"),
        ("user/*.read", "user", "*", "rs"),
        ("system/*.write", "system", "*", "cud"),
        ("user/Media.rs", "user", "Media", "rs"),
        ("patient/ServiceRequest.r", "patient", "ServiceRequest", "r"),
        ("user/Observation.*", "user", "Observation", "cruds"),
        ("system/Patient.cruds", "system", "Patient", "cruds"),
        ("user/DocumentReference.cu", "user", "DocumentReference", "cu"),
    ],
)
def test_valid_scopes_parse(text: str, context: str, resource_type: str, letters: str) -> None:
    scope = parse_scope(text)
    assert (scope.context, scope.resource_type) == (context, resource_type)
    assert scope.permissions == frozenset(letters)
    assert str(scope) == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is not a resource scope"),
        ("openid", "is not a resource scope"),
        ("offline_access", "is not a resource scope"),
        ("launch/patient", "malformed"),
        ("practitioner/*.read", "unknown context 'practitioner'"),
        ("Patient/*.read", "malformed"),
        ("user/media.read", "malformed"),
        ("user/Media.Read", "malformed"),
        ("user/Media.sr", "in that order"),
        ("user/Media.rr", "in that order"),
        ("user/Media.x", "must be read, write, *"),
        ("user/Media.readwrite", "must be read, write, *"),
        ("user/Media.", "malformed"),
        ("user/.read", "malformed"),
        ("user/Media.read ", "malformed"),
        ("user/Media.read\n", "malformed"),
        ("user/Media-X.read", "malformed"),
        ("patient/Observation.rs?category=laboratory", "query parameters"),
    ],
)
def test_invalid_scopes_are_refused_with_a_message_naming_them(text: str, why: str) -> None:
    with pytest.raises(ScopeError) as raised:
        parse_scope(text)
    assert repr(text) in str(raised.value)
    assert why in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_v1_words_are_their_v2_letters() -> None:
    assert parse_scope("user/*.read").canonical == "user/*.rs"
    assert parse_scope("user/*.write").canonical == "user/*.cud"
    assert parse_scope("user/Media.*").canonical == "user/Media.cruds"


def test_parse_scopes_splits_on_spaces_drops_duplicates_and_stops_at_a_bad_one() -> None:
    parsed = parse_scopes(["patient/*.read user/Media.rs", "patient/*.read"])
    assert [str(scope) for scope in parsed] == ["patient/*.read", "user/Media.rs"]
    assert parse_scopes("user/*.read system/*.write") == parse_scopes(
        ["user/*.read", "system/*.write"]
    )
    assert parse_scopes([]) == ()
    with pytest.raises(ScopeError, match=re.escape("'user/*.reed'")):
        parse_scopes(["user/*.read", "user/*.reed"])


@pytest.mark.parametrize(
    ("scopes", "context", "resource_type", "interaction", "expected"),
    [
        (["patient/*.read"], "patient", "ServiceRequest", "read", True),
        (["patient/*.read"], "patient", "ServiceRequest", "write", False),
        (["patient/*.read"], "user", "ServiceRequest", "read", False),
        (["user/Observation.read"], "user", "ServiceRequest", "read", False),
        (["user/Observation.read"], "user", "Observation", "s", True),
        (["user/ServiceRequest.r"], "user", "ServiceRequest", "r", True),
        (["user/ServiceRequest.r"], "user", "ServiceRequest", "search", False),
        (["user/ServiceRequest.r"], "user", "ServiceRequest", "read", False),
        (["user/ServiceRequest.r", "user/*.s"], "user", "ServiceRequest", "read", True),
        (["system/*.write"], "system", "Media", "write", True),
        (["system/*.write"], "system", "Media", "update", True),
        (["system/*.write"], "system", "Media", "read", False),
        (["system/Media.cu"], "system", "Media", "write", False),
        (["user/*.*"], "user", "Media", "cruds", True),
        ([], "user", "Media", "r", False),
    ],
)
def test_allows(
    scopes: list[str], context: str, resource_type: str, interaction: str, expected: bool
) -> None:
    assert allows(scopes, context, resource_type, interaction) is expected


def test_allows_refuses_unknown_interactions_and_contexts() -> None:
    with pytest.raises(ValueError, match="unknown interaction 'x'"):
        allows(["user/*.read"], "user", "Media", "x")
    with pytest.raises(ValueError, match="unknown interaction ''"):
        allows(["user/*.read"], "user", "Media", "")
    with pytest.raises(ValueError, match="unknown context 'practitioner'"):
        allows(["user/*.read"], "practitioner", "Media", "read")


# --- properties -----------------------------------------------------------------------------

contexts = st.sampled_from(CONTEXTS)
resource_names = st.from_regex(r"[A-Z][A-Za-z]{0,30}", fullmatch=True)
resource_types = st.one_of(st.just("*"), resource_names)
letter_sets = st.sets(st.sampled_from(LETTERS), min_size=1).map(frozenset)
V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset(LETTERS)}


def v2(letters: frozenset[str]) -> str:
    return "".join(letter for letter in LETTERS if letter in letters)


@st.composite
def scope_texts(draw: st.DrawFn) -> tuple[str, str, str, frozenset[str]]:
    """A valid scope, and what it should mean: context, resource type, letters."""
    context = draw(contexts)
    resource_type = draw(resource_types)
    if draw(st.booleans()):
        word = draw(st.sampled_from(sorted(V1)))
        return f"{context}/{resource_type}.{word}", context, resource_type, V1[word]
    letters = draw(letter_sets)
    return f"{context}/{resource_type}.{v2(letters)}", context, resource_type, letters


def is_valid_scope(text: str) -> bool:
    """An independent reading of the grammar in the module docstring."""
    context, slash, rest = text.partition("/")
    if not slash or context not in CONTEXTS:
        return False
    resource_type, dot, permissions = rest.rpartition(".")
    if not dot:
        return False
    if resource_type != "*" and not (
        resource_type.isascii() and resource_type.isalpha() and resource_type[0].isupper()
    ):
        return False
    if permissions in V1:
        return True
    return (
        bool(permissions)
        and permissions == v2(frozenset(permissions))
        and (len(set(permissions)) == len(permissions))
    )


@given(scope_texts())
def test_every_valid_scope_parses_to_what_it_says(
    example: tuple[str, str, str, frozenset[str]],
) -> None:
    text, context, resource_type, letters = example
    scope = parse_scope(text)
    assert scope == Scope(context, resource_type, letters, text)
    assert parse_scope(scope.canonical).permissions == letters


# Text made mostly of the characters scopes are made of, so that near-misses are common.
near_misses = st.text(alphabet="patienusrym/*.SRMrcwdhoqx?= \n", max_size=30)


@given(st.one_of(near_misses, st.text(max_size=30), scope_texts().map(lambda example: example[0])))
def test_anything_else_is_refused_naming_the_scope(text: str) -> None:
    try:
        parse_scope(text)
    except ScopeError as error:
        assert not is_valid_scope(text)
        assert repr(text) in str(error)
    else:
        assert is_valid_scope(text)


@given(scope_texts(), contexts, resource_names, letter_sets)
def test_a_scope_grants_exactly_its_letters_in_its_context_on_its_types(
    example: tuple[str, str, str, frozenset[str]],
    context: str,
    resource_type: str,
    wanted: frozenset[str],
) -> None:
    text, scope_context, scope_resource, letters = example
    covered = context == scope_context and scope_resource in {"*", resource_type}
    assert allows([text], context, resource_type, v2(wanted)) is (covered and wanted <= letters)


@given(contexts, resource_names, st.sampled_from(sorted(V1)), st.sampled_from(["read", "write"]))
def test_v1_words_and_v2_letters_mean_the_same(
    context: str, resource_type: str, word: str, interaction: str
) -> None:
    as_word = [f"{context}/{resource_type}.{word}"]
    as_letters = [f"{context}/{resource_type}.{v2(V1[word])}"]
    assert allows(as_word, context, resource_type, interaction) is allows(
        as_letters, context, resource_type, interaction
    )


@given(
    st.lists(scope_texts().map(lambda example: example[0]), max_size=6), contexts, resource_names
)
def test_scopes_add_up_and_more_scopes_never_allow_less(
    texts: list[str], context: str, resource_type: str
) -> None:
    union = frozenset().union(
        *(
            parse_scope(text).permissions
            for text in texts
            if parse_scope(text).covers(context, resource_type)
        )
    )
    assert granted(texts, context, resource_type) == union
    for letter in LETTERS:
        before = allows(texts[:-1], context, resource_type, letter)
        assert not before or allows(texts, context, resource_type, letter)


@given(st.sampled_from(["read", "write", "create", "search", "update", "delete"]))
def test_interaction_words_need_their_letters(interaction: str) -> None:
    letters = required_letters(interaction)
    assert letters <= frozenset(LETTERS)
    assert allows([f"user/Media.{v2(letters)}"], "user", "Media", interaction)
    for missing in letters:
        rest = letters - {missing}
        if rest:
            assert not allows([f"user/Media.{v2(rest)}"], "user", "Media", interaction)
