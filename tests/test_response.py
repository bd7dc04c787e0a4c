"""The response card: what one message does, measured, and within the published ranges (docs/responses.md)."""

from __future__ import annotations

import sys

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from experiments.cli.app import main
from experiments.response import organic_share, response_card
from sim.config import preset_text

ANCHORS = {
    # channel: (open rate range, unsubscribe-per-message range for a content message)
    "wecom": ((0.10, 0.45), (0.001, 0.03)),            # e-mail opens 18-45%; personal channel like SMS
    "official_account": ((0.01, 0.20), (0.0005, 0.005)),  # broadcast like e-mail: 0.1-0.5% per send
    "sms": ((0.005, 0.10), (0.005, 0.085)),            # SMS opt-outs 0.5-8.5% per message (retail)
}


@pytest.fixture(scope="module")
def card(beauty):
    return {(r.channel, r.content): r for r in response_card(beauty, 20_000, 0)}


def test_one_message_lifts_purchases_by_what_a_randomised_e_mail_did(card):
    """Hillstrom: one e-mail raised two-week conversion by 0.3-0.7 points; a content message is of that order."""
    lift = card[("wecom", "content")].incremental_purchase_rate
    assert 0.001 <= lift <= 0.01
    for channel in ("wecom", "group", "moments", "official_account", "sms"):
        coupon, content = card[(channel, "coupon")], card[(channel, "content")]
        assert coupon.incremental_purchase_rate > content.incremental_purchase_rate
        assert coupon.unsubscribe_rate > content.unsubscribe_rate


@pytest.mark.parametrize("channel", sorted(ANCHORS))
def test_opens_and_unsubscribes_per_message_are_in_the_published_ranges(card, channel):
    (open_lo, open_hi), (unsub_lo, unsub_hi) = ANCHORS[channel]
    r = card[(channel, "content")]
    assert open_lo <= r.open_rate <= open_hi
    assert unsub_lo <= r.unsubscribe_rate <= unsub_hi


def test_most_purchases_are_organic(beauty):
    assert 0.6 <= organic_share(beauty, 5_000, 0, 90) <= 0.97


def test_scenarios_show_appends_the_card_as_comments_so_the_toml_stays_valid(capsys):
    assert main(["scenarios", "show", "beauty"]) == 0
    out = capsys.readouterr().out
    assert "# wecom" in out and "organic share" in out
    assert tomllib.loads(out) == tomllib.loads(preset_text("beauty"))
