"""Scenario files: presets load; bad files are rejected with file, field path, value and range."""

from __future__ import annotations

import pytest

from sim.config import ConfigError, apply_overrides, load_scenario, preset_names, preset_text


def test_four_presets_one_per_mode():
    names = preset_names()
    assert names == ["beauty", "hair_transplant", "high_ticket", "mother_baby"]
    modes = {load_scenario(n).mode for n in names}
    assert modes == {"shopping_assistant", "topic_expert", "private_partner", "low_frequency_service"}


def test_show_text_round_trips(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(preset_text("beauty"))
    assert load_scenario(str(path)) == load_scenario("beauty")


def test_bad_value_names_file_field_value_and_range(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(preset_text("beauty").replace("buyer_share = 0.6", "buyer_share = 1.7"))
    with pytest.raises(ConfigError) as err:
        load_scenario(str(path))
    msg = str(err.value)
    assert str(path) in msg and "population.buyer_share" in msg and "1.7" in msg
    assert "<= 1" in msg and "share" in msg


def test_unknown_field_lists_allowed(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text(preset_text("beauty").replace("buyer_share", "buyers_share"))
    with pytest.raises(ConfigError) as err:
        load_scenario(str(path))
    assert "population.buyers_share" in str(err.value) and "buyer_share" in str(err.value)


def test_malformed_toml_and_missing_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[population\ncustomers = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(str(path))
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="unknown scenario 'nosuch'.*beauty"):
        load_scenario("nosuch")


def test_vector_lengths_and_channel_tables_checked(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text(preset_text("beauty").replace("slot_activity = [0.25, 0.45, 0.8, 0.4]", "slot_activity = [0.5]"))
    with pytest.raises(ConfigError, match="slot_activity needs 4 values"):
        load_scenario(str(path))
    path.write_text(preset_text("beauty").replace("[channels.sms]", "[channels.fax]"))
    with pytest.raises(ConfigError, match="unknown: fax.*missing: sms"):
        load_scenario(str(path))


def test_overrides_are_validated(beauty):
    changed = apply_overrides(beauty, {"contents.coupon.discount": 0.4})
    assert changed.contents["coupon"].discount == 0.4
    assert changed.config_hash() != beauty.config_hash()
    with pytest.raises(ConfigError, match="no such field"):
        apply_overrides(beauty, {"dynamics.nope": 1})
    with pytest.raises(ConfigError, match="discount"):
        apply_overrides(beauty, {"contents.coupon.discount": 2.0})
