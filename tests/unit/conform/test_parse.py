from datetime import date

import pytest

from careshare.conform.parse import MAX_FILE_BYTES, FileRejected, parse_feed_file
from careshare.feeds import CQC_UPDATE, CT_CARE_HOMES, CT_HOME_CARE

DAY = date(2020, 12, 1)


def ct_header(day=DAY, spec=CT_CARE_HOMES):
    return [c.name for c in spec.columns_on(day)]


def ct_row(**overrides):
    values = {c: "1" for c in ct_header()}
    values.update(
        CQC_Location_ID="1-123456789",
        ODS_Code="VN4A2",
        Home_Name='Oak, "House"',
        Postcode="LS1 4AP",
        Local_Authority="Leeds",
        Last_Updated="01/12/2020 09:00",
        Accepting_Admissions="Yes",
        Visiting_Status="Open",
        **{f"PPE_{k}": "Green" for k in ("Masks", "Gloves", "Aprons", "Eye_Protection", "Hand_Hygiene")},
    )
    values.update(overrides)
    return values


def csv_bytes(header, rows, *, encoding="utf-8", newline="\n", bom=False):
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[c] for c in header] if isinstance(row, dict) else row)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def parse(data, spec=CT_CARE_HOMES, day=DAY):
    return parse_feed_file(data, spec, day, f"{spec.feed}/{day}.csv")


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [False, True])
def test_utf8_with_or_without_bom_and_any_line_ending(newline, bom):
    parsed = parse(csv_bytes(ct_header(), [ct_row(), ct_row(Home_Name="Café")], newline=newline, bom=bom))
    assert parsed.encoding == "utf-8"
    assert parsed.frame["Home_Name"].tolist() == ['Oak, "House"', "Café"]
    assert parsed.frame["source_row"].tolist() == [1, 2]
    assert parsed.rows_delivered == 2 and not parsed.issues


def test_windows_1252_cqc_export():
    header = [c.name for c in CQC_UPDATE.columns_on(DAY)]
    row = {c: "1" for c in header} | {"location_name": "Ève’s Care"}
    parsed = parse(csv_bytes(header, [row], encoding="cp1252"), spec=CQC_UPDATE)
    assert parsed.encoding == "windows-1252"
    assert parsed.frame["location_name"].iloc[0] == "Ève’s Care"


@pytest.mark.parametrize(
    ("data", "rule", "words"),
    [
        (b"", "file.empty", "empty file"),
        (b"  \r\n", "file.empty", "empty file"),
        ("\n".join([",".join(ct_header())]).encode(), "file.no_rows", "header only"),
        (b"\x00\x01\x02binary", "file.binary", "NUL bytes"),
    ],
)
def test_unusable_files_are_rejected_naming_file_and_rule(data, rule, words):
    with pytest.raises(FileRejected) as caught:
        parse(data)
    assert caught.value.rule == rule
    assert words in str(caught.value) and "ct_care_homes/2020-12-01.csv" in str(caught.value)


def test_missing_and_renamed_columns_are_named():
    header = [("Beds Total" if c == "Beds_Total" else c) for c in ct_header() if c != "Visiting_Status"]
    rows = [{**ct_row(), "Beds Total": "3"}]
    with pytest.raises(FileRejected) as caught:
        parse(csv_bytes(header, rows))
    message = str(caught.value)
    assert caught.value.rule == "file.missing_column"
    assert "Beds_Total" in message and "Visiting_Status" in message and "'Beds Total'" not in message
    assert "unexpected columns present: Beds Total" in message


def test_duplicated_column_is_rejected():
    header = [*ct_header(), "Beds_Total"]
    with pytest.raises(FileRejected, match="columns repeated: Beds_Total"):
        parse(csv_bytes(header, [[*ct_row().values(), "2"]]))


def test_icf_columns_are_required_from_2021_01_11():
    icf_day = date(2021, 1, 11)
    with pytest.raises(FileRejected, match="ICF_Staff_Single_Site"):
        parse(csv_bytes(ct_header(DAY), [ct_row()]), day=icf_day)
    header = ct_header(icf_day)
    row = ct_row() | {
        "ICF_Staff_Single_Site": "Yes",
        "ICF_Full_Pay_When_Isolating": "No",
        "ICF_Funding_Received": "Not yet",
    }
    assert parse(csv_bytes(header, [row]), day=icf_day).extra_columns == []


def test_extra_columns_are_kept_and_reported():
    header = [*ct_header(), "Notes"]
    parsed = parse(csv_bytes(header, [ct_row() | {"Notes": "hello"}]))
    assert parsed.extra_columns == ["Notes"]
    assert parsed.frame["Notes"].tolist() == ["hello"]


def test_malformed_rows_and_repeated_headers_are_row_issues_not_losses():
    header = ct_header()
    rows = [ct_row(), ["1-1", "short"], header, ct_row()]
    parsed = parse(csv_bytes(header, rows))
    assert parsed.rows_delivered == 4
    assert parsed.frame["source_row"].tolist() == [1, 4]
    assert [(i.source_row, i.rule) for i in parsed.issues] == [
        (2, "parse.row_width"),
        (3, "parse.row_repeated_header"),
    ]
    assert parsed.unparsed_records[2] == {"_record": "1-1,short"}


def test_unbalanced_quote_in_strict_mode_is_a_clear_rejection():
    data = ",".join(ct_header()).encode() + b'\n"unclosed,1,2\n'
    with pytest.raises(FileRejected) as caught:
        parse(data)
    assert caught.value.rule == "file.csv"
    assert "not parseable as CSV at line 2" in str(caught.value)


def test_oversized_file_is_rejected_before_parsing():
    with pytest.raises(FileRejected, match="limit"):
        parse(b"a" * (MAX_FILE_BYTES + 1))


def test_home_care_header_is_its_own():
    header = [c.name for c in CT_HOME_CARE.columns_on(DAY)]
    with pytest.raises(FileRejected, match="Service_Type"):
        parse(csv_bytes(ct_header(), [ct_row()]), spec=CT_HOME_CARE)
    assert "Service_Type" in header


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_file_that_ends_part_way_through_a_record_is_truncated(newline):
    whole = csv_bytes(ct_header(), [ct_row(), ct_row(), ct_row()], newline=newline)
    cut_in_a_field = whole[: whole.rindex(b"1-123456789") + 4]
    cut_in_quotes = whole[: whole.rindex(b'"House"')]
    for data in (cut_in_a_field, cut_in_quotes):
        with pytest.raises(FileRejected) as caught:
            parse(data)
        assert caught.value.rule == "file.truncated" and "cut short" in str(caught.value)


def test_a_header_cut_short_is_truncated_too():
    with pytest.raises(FileRejected, match=r"file.truncated"):
        parse(",".join(ct_header()[:5]).encode())


def test_a_complete_last_record_without_a_line_break_is_accepted():
    data = csv_bytes(ct_header(), [ct_row(), ct_row()]).rstrip(b"\n")
    assert parse(data).rows_delivered == 2


def test_a_short_last_record_that_ends_its_line_is_a_row_issue_not_a_truncation():
    header = ct_header()
    parsed = parse(csv_bytes(header, [ct_row(), ["1-1", "short"]]))
    assert [(i.source_row, i.rule) for i in parsed.issues] == [(2, "parse.row_width")]


@pytest.mark.parametrize(
    ("renamed", "to"),
    [("Beds_Total", "Total_Beds"), ("Last_Updated", "Last Updated"), ("CQC_Location_ID", "cqc location id")],
)
def test_a_renamed_column_is_named_with_the_name_it_was_given(renamed, to):
    header = [to if c == renamed else c for c in ct_header()]
    rows = [{to if k == renamed else k: v for k, v in ct_row().items()}]
    with pytest.raises(FileRejected) as caught:
        parse(csv_bytes(header, rows))
    assert caught.value.rule == "file.renamed_column"
    assert f"required column renamed: {to!r} where {renamed} is required" in str(caught.value)


def test_a_file_in_neither_utf8_nor_windows_1252_is_rejected_naming_the_byte():
    data = ",".join(ct_header()).encode() + b"\n1,\x81\x8d\n"
    with pytest.raises(FileRejected) as caught:
        parse(data)
    assert caught.value.rule == "file.encoding"
    assert "not UTF-8 or Windows-1252" in str(caught.value) and "ct_care_homes/2020-12-01.csv" in str(caught.value)


def rules_by_row(parsed) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for issue in parsed.issues:
        found.setdefault(issue.source_row, set()).add(issue.rule)
    return found


def test_one_cell_over_the_csv_modules_default_field_limit_is_a_row_matter_not_a_file_matter():
    data = csv_bytes(ct_header(), [ct_row(Home_Name="x" * 200_000), ct_row()])
    parsed = parse(data)
    assert parsed.rows_delivered == 2 and len(parsed.frame) == 2
    assert parsed.frame["Home_Name"].str.len().max() == 200_000


def test_a_nul_byte_past_the_first_64_kib_quarantines_its_row_and_one_before_rejects_the_file():
    with pytest.raises(FileRejected, match="NUL bytes"):
        parse(csv_bytes(ct_header(), [ct_row(), ct_row(Home_Name="Oak\x00House")]))
    padded = csv_bytes(ct_header(), [ct_row(Home_Name="y" * 70_000), ct_row(Home_Name="Oak\x00House")])
    parsed = parse(padded)
    assert rules_by_row(parsed) == {2: {"parse.nul_byte"}}
    assert [i.column for i in parsed.issues] == ["Home_Name"]


@pytest.mark.parametrize("proven_whole", [False, True])
def test_a_last_record_without_its_line_end_is_held_unless_the_file_is_proven_whole(proven_whole):
    data = csv_bytes(ct_header(), [ct_row(), ct_row(Staff_Employed="1")], newline="\r\n").removesuffix(b"\r\n")
    parsed = parse_feed_file(data, CT_CARE_HOMES, DAY, "f.csv", proven_whole=proven_whole)
    assert parsed.rows_delivered == 2
    assert rules_by_row(parsed) == ({} if proven_whole else {2: {"parse.last_record_unterminated"}})
