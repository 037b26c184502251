"""Reference numbers: readable, self-checking, and unique under concurrent submissions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from cases import services
from cases.models import Complaint
from cases.references import CHECK_ALPHABET, check_letter, format_reference, parse_reference

years = st.integers(min_value=2020, max_value=2099)
sequences = st.integers(min_value=1, max_value=99_999)


def test_reference_reads_like_the_spec_example():
    reference = format_reference(2026, 42)
    assert reference.startswith("JPD-2026-00042-")
    assert len(reference) == len("JPD-2026-00042-K")
    assert parse_reference(reference) is not None


def test_check_letters_avoid_characters_confused_with_digits():
    assert not set("IOQ") & set(CHECK_ALPHABET)


def test_parse_accepts_lower_case_and_spaces_read_over_the_phone():
    reference = format_reference(2026, 1234)
    assert parse_reference(reference.lower().replace("-", " ")) is not None


@given(year=years, sequence=sequences, position=st.integers(min_value=0, max_value=8), digit=st.integers(0, 9))
def test_any_single_mistyped_digit_is_caught(year, sequence, position, digit):
    digits = list(f"{year:04d}{sequence:05d}")
    if digits[position] == str(digit):
        return
    digits[position] = str(digit)
    typo = f"JPD-{''.join(digits[:4])}-{''.join(digits[4:])}-{check_letter(year, sequence)}"
    assert parse_reference(typo) is None


@given(year=years, sequence=sequences, position=st.integers(min_value=0, max_value=7))
def test_swapping_two_neighbouring_digits_is_caught(year, sequence, position):
    digits = list(f"{year:04d}{sequence:05d}")
    if digits[position] == digits[position + 1]:
        return
    digits[position], digits[position + 1] = digits[position + 1], digits[position]
    typo = f"JPD-{''.join(digits[:4])}-{''.join(digits[4:])}-{check_letter(year, sequence)}"
    assert parse_reference(typo) is None


@given(year=years, sequence=sequences, letter=st.sampled_from(CHECK_ALPHABET))
def test_a_wrong_check_letter_is_caught(year, sequence, letter):
    if letter == check_letter(year, sequence):
        return
    assert parse_reference(f"JPD-{year}-{sequence:05d}-{letter}") is None


@pytest.mark.django_db
def test_references_run_in_sequence_within_a_year():
    details = services.ComplaintDetails(name="Ada Lovelace", email="ada@example.com", description="Late visit")
    first = services.complaint_submit(details=details)
    second = services.complaint_submit(details=details)
    assert parse_reference(second.reference).sequence == parse_reference(first.reference).sequence + 1


@pytest.mark.django_db
def test_a_year_without_a_counter_starts_at_one_and_counts_on():
    with transaction.atomic():
        first = services.next_reference(2031)
    with transaction.atomic():
        second = services.next_reference(2031)
    assert (parse_reference(first).year, parse_reference(first).sequence) == (2031, 1)
    assert parse_reference(second).sequence == 2


@pytest.mark.django_db
def test_taking_a_reference_in_a_running_year_is_one_statement():
    with transaction.atomic():
        services.next_reference(2032)
        with CaptureQueriesContext(connection) as queries:
            reference = services.next_reference(2032)
    assert parse_reference(reference).sequence == 2
    assert len(queries.captured_queries) == 1
    assert "RETURNING" in queries.captured_queries[0]["sql"].upper()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_on_postgresql_never_share_a_reference():
    workers, per_worker = 8, 5
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def submit_several(number: int) -> None:
        try:
            barrier.wait()
            for i in range(per_worker):
                services.complaint_submit(
                    details=services.ComplaintDetails(
                        name=f"Client {number}-{i}", email=f"c{number}.{i}@example.com", description="Outage"
                    )
                )
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_several, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    references = list(Complaint.objects.values_list("reference", flat=True))
    assert len(references) == workers * per_worker
    assert len(set(references)) == len(references)
    sequences = sorted(parse_reference(r).sequence for r in references)
    assert sequences == list(range(1, workers * per_worker + 1))
