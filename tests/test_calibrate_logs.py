"""Reading a brand's logs: every kind of bad row is reported with its line numbers and count, and
unusable files fail in one line (exit code 2 on the CLI)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from experiments.cli.app import main
from experiments.logs.contacts import read_contacts
from experiments.logs.rows import LogError
from experiments.logs.transactions import Columns, read_transactions

GOOD = [f"c{i},2024-01-{1 + i % 20:02d},{10 + i}" for i in range(40)]


def write(tmp_path, lines, name="tx.csv", header="customer_id,date,amount"):
    path = tmp_path / name
    path.write_text("\n".join([header] + lines) + "\n")
    return path


def test_valid_log_is_read_sorted_by_customer_and_day(tmp_path):
    path = write(tmp_path, ["b,2024-02-03,5", "a,2024-02-01,7.5", "b,2024-01-03,3"])
    tx = read_transactions(path)
    assert list(tx.ids) == ["b", "a"]
    assert tx.customer.tolist() == [0, 0, 1]
    assert tx.day.tolist() == [date(2024, 1, 3).toordinal(), date(2024, 2, 3).toordinal(), date(2024, 2, 1).toordinal()]
    assert tx.amount.tolist() == [3.0, 5.0, 7.5]
    assert tx.report.lines() == []


@pytest.mark.parametrize("bad, message", [
    (",2024-01-05,3", "1 row (line 42) with an empty customer_id: dropped"),
    ("x,05/01/2024,3", "1 row (line 42) with a date not in the format YYYY-MM-DD: dropped"),
    ("x,2024-01-05,abc", "1 row (line 42) with a non-numeric amount: dropped"),
    ("x,2024-01-05,nan", "1 row (line 42) with a non-numeric amount: dropped"),
    ("x,2024-01-05,-3", "1 row (line 42) with a negative amount (refund?): dropped"),
    ("c0,2024-01-01,10", "1 row (line 42) with a duplicate of an earlier row: dropped"),
])
def test_each_bad_row_kind_is_reported_with_line_and_count(tmp_path, bad, message):
    tx = read_transactions(write(tmp_path, GOOD + [bad]))
    assert tx.report.lines() == [f"{tmp_path / 'tx.csv'}: {message}"]
    assert tx.amount.size == 40  # the bad row is left out, the others kept
    with pytest.raises(LogError, match=r"\(--strict\)"):
        read_transactions(write(tmp_path, GOOD + [bad]), strict=True)


def test_counts_and_first_lines_of_many_bad_rows(tmp_path):
    bad = [f"x{i},2024-13-01,1" for i in range(7)]
    tx = read_transactions(write(tmp_path, GOOD + bad))
    assert tx.report.lines()[0].endswith("7 rows (line 42, 43, 44, 45, 46, ...) with a date not in the format "
                                         "YYYY-MM-DD: dropped")
    assert tx.report.n_dropped == 7


def test_dates_after_calibration_end_are_kept_and_noted(tmp_path):
    end = date(2024, 1, 10).toordinal()
    tx = read_transactions(write(tmp_path, GOOD), calibration_end=end)
    late = sum(1 for i in range(40) if 1 + i % 20 > 10)
    assert tx.amount.size == 40
    assert tx.report.lines() == [f"{tmp_path / 'tx.csv'}: {late} rows (line 12, 13, 14, 15, 16, ...) with a date "
                                 "after the calibration end (used only to check the forecast): kept"]
    assert tx.before(end).amount.size == 40 - late


def test_missing_columns_name_what_was_found(tmp_path):
    with pytest.raises(LogError, match=r"missing column amount \(found: customer_id, date, total; column names are "
                                       r"set with --columns\)"):
        read_transactions(write(tmp_path, ["a,2024-01-01,3"], header="customer_id,date,total"))


def test_configurable_columns_and_date_format(tmp_path):
    path = write(tmp_path, ["a,20240105,3"], header="cust,day,total")
    tx = read_transactions(path, Columns.parse("customer_id=cust,date=day,amount=total"), "%Y%m%d")
    assert tx.day.tolist() == [date(2024, 1, 5).toordinal()]
    with pytest.raises(LogError, match="--columns: expected ROLE=NAME"):
        Columns.parse("cust")


def test_mostly_bad_file_fails_naming_the_likely_cause(tmp_path):
    with pytest.raises(LogError, match=r"only 1 of 3 rows are usable \(check --columns and --date-format\)"):
        read_transactions(write(tmp_path, ["a,2024-01-01,1", "b,01/02/2024,1", "c,01/03/2024,1"]))


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(LogError, match="no such file"):
        read_transactions(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(LogError, match="empty file"):
        read_transactions(tmp_path / "empty.csv")
    with pytest.raises(LogError, match="no data rows"):
        read_transactions(write(tmp_path, []))


def test_contacts_are_checked_against_customers_channels_and_contents(tmp_path):
    ids = np.array(["a", "b"], dtype=object)
    lines = ["a,2024-01-02,wecom,coupon,1", "b,2024-01-02,email,coupon,0", "zz,2024-01-02,sms,coupon,0",
             "a,2024-01-03,sms,none,", "a,2024-01-04,sms,poster,0", "b,2024-01-05,sms,coupon,maybe",
             "a,2024-01-02,wecom,coupon,1", "b,2024-01-06,sms,coupon,1", "a,2024-01-07,sms,coupon,0",
             "b,2024-01-08,sms,service,0"]
    path = write(tmp_path, lines, "contacts.csv", "customer_id,date,channel,content,opened")
    c = read_contacts(path, ids, calibration_end=date(2024, 1, 6).toordinal())
    text = "\n".join(c.report.lines())
    for message in ("1 row (line 3) with a channel the scenario does not define (map it with --channel-map",
                    "1 row (line 4) with a customer_id not in the transactions: dropped",
                    "1 row (line 6) with a content not in content, service, new_product, coupon, flash_sale, none",
                    "1 row (line 7) with an opened/clicked/unsubscribed flag that is not 0 or 1: dropped",
                    "1 row (line 8) with a duplicate of an earlier row: dropped",
                    "2 rows (line 10, 11) with a date after the calibration end (not used in the fit): kept"):
        assert message in text, message
    assert c.content.tolist() == [3, -1, 3, 3, 1]  # the control row (content none) is kept as -1
    assert c.opened.tolist() == [1, 0, 1, 0, 0]
    assert c.clicked.tolist() == [-1] * 5  # column absent
    mapped = read_contacts(path, ids, channel_map={"email": "sms"})
    assert mapped.channel.size == 6


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    path = write(tmp_path, ["a,2024-01-01,3"], header="customer_id,date,total")
    code = main(["calibrate", str(path), "--calibration-end", "2024-06-30", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "missing column amount" in err
    code = main(["calibrate", str(path), "--calibration-end", "30/06/2024", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--calibration-end: expected a date as YYYY-MM-DD, got '30/06/2024'" in err


def test_cli_too_little_data_fails_clearly(tmp_path, capsys):
    path = write(tmp_path, GOOD[:10])
    code = main(["calibrate", str(path), "--calibration-end", "2024-06-30", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "only 10 customers ordered on or before the calibration end; at least 30 are needed" in err
    code = main(["forecast", "beauty", "--cohort", str(write(tmp_path, GOOD)), "--calibration-end", "2024-06-30",
                 "--until", "2024-06-01", "--out", str(tmp_path / "f")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--until 2024-06-01: must be after --calibration-end 2024-06-30" in err


def test_cli_fits_only_the_optional_dynamics_it_knows(tmp_path, capsys):
    code = main(["calibrate", str(write(tmp_path, GOOD)), "--calibration-end", "2024-06-30", "--fit",
                 "dynamics.share_floor", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert ("cannot fit dynamics.share_floor: the fit can add dynamics.need_impulse, dynamics.need_lapse, "
            "dynamics.share_floor_spread") in err


def test_cli_defaults_are_the_fit_s_own():
    """The CLI states its defaults literally (it loads the fit only when it runs); they must be the fit's."""
    from experiments.calibrate.fit import STARTS
    from experiments.cli.app import build_parser
    args = build_parser().parse_args(["calibrate", "tx.csv", "--calibration-end", "2024-06-30"])
    assert args.starts == STARTS and args.fit == []


def test_an_unidentified_parameter_gets_an_unbounded_interval_not_a_crash():
    """A parameter the log does not tell (SE a thousand times the value, as a lapse spread fitted beside the
    dropout spread on CDNOW) is reported from 0 to infinity; an identified one on the log scale."""
    from experiments.calibrate.report import Z90, interval
    assert interval(1.135, 969.0) == (0.0, math.inf)
    lo, hi = interval(2.0, 0.2)
    assert lo * hi == pytest.approx(4.0) and hi == pytest.approx(2.0 * math.exp(Z90 * 0.1))
