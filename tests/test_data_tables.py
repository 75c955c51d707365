"""Users' tables as packed sequences: roles, round trips, checks (torchgan_lstm.data.tables)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from torchgan_lstm._validation import InputError
from torchgan_lstm.data.synthetic_tables import KIND_FREQUENCIES, table_sines
from torchgan_lstm.data.table_codec import PRESENT, TableCodec
from torchgan_lstm.data.table_roles import TableRoles
from torchgan_lstm.data.tables import table_dataset, write_table


def _visits(gap: bool = True) -> pd.DataFrame:
    """Four patients of different lengths: dates, a static category and number, an integer
    series, a float series with gaps and a categorical series."""
    rng = np.random.default_rng(0)
    rows = []
    for k, length in enumerate((5, 3, 6, 4)):
        start = pd.Timestamp("2024-03-01") + pd.Timedelta(days=7 * k)
        for t in range(length):
            rows.append(
                {
                    "patient": 100 + k,
                    "date": (start + pd.Timedelta(days=t)).strftime("%Y-%m-%d"),
                    "ward": "north" if k % 2 else "south",
                    "age": 40 + 10 * (k % 2),
                    "pulse": int(rng.integers(50, 120)),
                    "temp": np.nan if gap and t == 1 else round(float(rng.normal(37, 1)), 3),
                    "mood": ("calm", "tense")[t % 2],
                }
            )
    return pd.DataFrame(rows)


def _roles(**kw) -> TableRoles:
    return TableRoles(id="patient", time="date", **kw)


def test_roles_are_inferred_by_name_dtype_and_constancy():
    table = _visits().rename(columns={"patient": "id"})
    dataset = table_dataset(table, seq_len=6)
    roles = dataset.roles
    assert (roles.id, roles.time, roles.time_kind) == ("id", "date", "datetime")
    assert roles.static == ["ward", "age"]
    assert roles.series == ["pulse", "temp", "mood"]
    assert roles.categorical == ["ward", "mood"]
    assert "static: ward (categorical), age" in dataset.describe()


def test_packed_layout_follows_the_contract():
    dataset = table_dataset(_visits(), _roles(), seq_len=6)
    groups = [(g["name"], g["kind"], g["role"], g["width"]) for g in dataset.channels]
    assert groups == [
        ("ward", "categorical", "static", 2),
        ("age", "numeric", "static", 1),
        ("pulse", "numeric", "series", 1),
        ("temp", "numeric", "series", 1),
        ("temp", "observed", "series", 1),
        ("mood", "categorical", "series", 2),
        (PRESENT, "present", "series", 1),
    ]
    packed = dataset.sequences
    assert packed.shape == (4, 6, dataset.features) and dataset.features == 9
    assert packed.min() >= 0 and packed.max() <= 1
    second = packed[1]  # 3 steps, then padding
    assert second[:, -1].tolist() == [1, 1, 1, 0, 0, 0]
    assert torch.all(second[3:, 3:] == 0)  # series channels are 0 after the end
    assert torch.all(second[3:, :3] == second[0, :3])  # static channels keep the attribute
    assert dataset.lengths.tolist() == [5, 3, 6, 4]
    json.dumps(dataset.codec.to_dict())  # JSON-plain


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_table_round_trips_through_a_file(tmp_path, suffix):
    table = _visits()
    path = write_table(table, tmp_path / f"visits{suffix}")
    dataset = table_dataset(path, _roles(), seq_len=6)
    back = dataset.decode()
    assert list(back.columns) == list(table.columns)
    assert back["patient"].tolist() == table["patient"].tolist()
    assert back["date"].dt.strftime("%Y-%m-%d").tolist() == table["date"].tolist()
    for column in ("ward", "mood", "age", "pulse"):
        assert back[column].tolist() == table[column].tolist(), column
    assert back["pulse"].dtype == table["pulse"].dtype == np.int64
    assert back["temp"].isna().tolist() == table["temp"].isna().tolist()
    assert np.allclose(back["temp"], table["temp"], atol=1e-5, equal_nan=True)


def test_codec_survives_json_and_decodes_generated_tensors():
    dataset = table_dataset(_visits(), _roles(), seq_len=6)
    codec = TableCodec.from_dict(json.loads(json.dumps(dataset.codec.to_dict())))
    generated = torch.rand(3, 6, dataset.features).numpy()
    generated[0, :, -1] = [0.9, 0.8, 0.2, 0.9, 0.9, 0.9]  # present drops at step 2: length 2
    generated[1, :, -1] = 0.1  # never present: at least one row
    back = codec.decode(generated, seed=1)
    assert back.groupby("patient", sort=False).size().tolist()[:2] == [2, 1]
    assert back["patient"].unique().tolist() == [0, 1, 2]  # new ids, of the id's dtype
    assert set(back["ward"]) <= {"north", "south"} and set(back["mood"]) <= {"calm", "tense"}
    assert back["age"].dtype == np.int64 and back["age"].between(40, 50).all()
    assert back.groupby("patient")["ward"].nunique().max() == 1  # static: one value per entity
    steps = back.groupby("patient")["date"].diff().dropna()
    assert (steps == pd.Timedelta(days=1)).all()  # the data's interval
    starts = set(pd.to_datetime(dataset.codec.time["starts"]))
    assert set(back.groupby("patient")["date"].min()) <= starts


def test_skipped_time_steps_become_missing_rows():
    table = _visits(gap=False).drop(index=2)  # patient 100 skips its third day
    dataset = table_dataset(table, _roles(), seq_len=6)
    assert dataset.lengths.tolist()[0] == 5
    back = dataset.decode()
    first = back[back["patient"] == 100]
    assert first["pulse"].isna().tolist() == [False, False, True, False, False]
    assert first["ward"].tolist() == ["south"] * 5  # the static attribute fills the gap


def test_one_series_without_id_is_cut_into_windows():
    table = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0) ** 2})
    dataset = table_dataset(table, TableRoles(id="", time=""), seq_len=4, stride=3)
    assert len(dataset) == 3 and dataset.lengths.tolist() == [4, 4, 4]
    back = dataset.decode(dataset.sequences[:1].numpy())
    assert list(back.columns) == ["sequence", "x", "y"]
    assert np.allclose(back["y"], [0, 1, 4, 9], atol=1e-4)


def test_long_entities_are_cut_into_windows_and_labels_are_per_entity():
    table = _visits(gap=False)
    table["outcome"] = np.where(table["patient"] % 2 == 0, "home", "ward")
    dataset = table_dataset(table, _roles(label="outcome"), seq_len=4, stride=1)
    # lengths 5, 3, 6, 4 -> 2 + 1 + 3 + 1 windows
    assert len(dataset) == 7 and dataset.num_classes == 2
    assert dataset.labels.tolist() == [0, 0, 1, 0, 0, 0, 1]
    back = dataset.codec.decode(dataset.sequences.numpy(), labels=np.array([1] * 7))
    assert set(back["outcome"]) == {"ward"}


def test_constant_columns_take_no_channel_and_come_back():
    table = _visits()
    table["site"] = "A"
    table["unit"] = 3.5
    dataset = table_dataset(table, _roles(), seq_len=6)
    names = {g["name"] for g in dataset.channels}
    assert "site" not in names and "unit" not in names
    back = dataset.decode()
    assert set(back["site"]) == {"A"} and set(back["unit"]) == {3.5}


def test_one_entity_works():
    table = _visits()
    table = table[table["patient"] == 102]
    dataset = table_dataset(table, _roles(), seq_len=6)
    assert len(dataset) == 1
    assert dataset.decode()["pulse"].tolist() == table["pulse"].tolist()


def test_table_sines_has_its_ground_truth():
    table = table_sines(entities=300, seed=1)
    dataset = table_dataset(table, seq_len=24)
    assert dataset.roles.static == ["kind"] and dataset.roles.id == "entity"
    assert dataset.lengths.min() >= 8 and dataset.lengths.max() <= 24
    assert 0.07 < table["value"].isna().mean() < 0.13
    assert abs((table["weather"] == "dry").mean() - 0.6) < 0.05
    fast = table[table["kind"] == "fast"].dropna().groupby("entity")["value"]
    slow = table[table["kind"] == "slow"].dropna().groupby("entity")["value"]
    # a faster sine changes more between days
    assert (
        fast.apply(lambda v: v.diff().abs().mean()).mean()
        > 2 * slow.apply(lambda v: v.diff().abs().mean()).mean()
    )
    assert KIND_FREQUENCIES["fast"] > KIND_FREQUENCIES["slow"]


# Bad tables: each one line naming the file (or DataFrame), the column and the row(s).


def _refused(table, roles=None, match="", **kw):
    with pytest.raises(InputError, match=match) as err:
        table_dataset(table, roles if roles is not None else _roles(), seq_len=6, **kw)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_unknown_role_column_is_refused_with_the_columns_listed():
    message = _refused(_visits(), _roles(static=["wrad"]), "data.static names column 'wrad'")
    assert "'ward'" in message


def test_category_seen_once_is_refused(tmp_path):
    table = _visits()
    table.loc[4, "mood"] = "angry"
    path = write_table(table, tmp_path / "v.csv")
    message = _refused(path, match="category 'angry' of column 'mood' appears in one row")
    assert str(path) in message and "line 6" in message


def test_static_category_of_one_entity_is_refused():
    table = _visits()
    table.loc[table["patient"] == 101, "ward"] = "south"
    table.loc[table["patient"] == 103, "ward"] = "east"
    _refused(table, match="category 'east' of column 'ward' appears in one entity")


def test_short_entity_is_refused():
    table = _visits()
    table = table.drop(index=table.index[table["patient"] == 101][1:])
    _refused(table, match="entity patient=101 has 1 row.*min_length=2")


def test_time_going_back_is_refused(tmp_path):
    table = _visits()
    table.loc[[1, 2], "date"] = table.loc[[2, 1], "date"].to_numpy()
    path = write_table(table, tmp_path / "v.csv")
    _refused(path, match=r"'date' is not increasing within entity patient=100: line 4")


def test_duplicate_id_time_rows_are_refused():
    table = _visits()
    table.loc[1, "date"] = table.loc[0, "date"]
    _refused(table, match=r"duplicate rows within entity patient=100: index 0, 1")


def test_mixed_types_in_one_column_are_refused_unless_named_categorical(tmp_path):
    table = _visits()
    table["pulse"] = table["pulse"].astype(object)
    table.loc[3, "pulse"] = "high"
    path = write_table(table, tmp_path / "v.csv")
    _refused(path, match="column 'pulse' mixes numbers and text.*line 5 holds 'high'")


def test_a_second_column_of_dates_is_refused():
    table = _visits()
    table["admitted"] = table["date"]
    _refused(table, match="column 'admitted' holds dates, which only the time column can hold")
    table["admitted"] = np.where(table.index % 2 == 0, "2024-01-01", "2024-02-01")
    table_dataset(table, _roles(categorical=["admitted"]), seq_len=6)  # named: categories


def test_empty_and_all_missing_tables_are_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("patient,date,pulse\n")
    _refused(path, match="the table is empty")
    table = _visits()
    table["note"] = np.nan
    _refused(table, match="column 'note' holds no value")


def test_static_changing_within_an_entity_is_refused():
    table = _visits()
    table.loc[1, "age"] = 41
    _refused(table, _roles(static=["ward", "age"]), "static column 'age' changes within entity")


def test_label_without_id_and_missing_time_are_refused():
    table = _visits()
    _refused(table, TableRoles(id="", time="date", label="ward"), "labels entities")
    table.loc[2, "date"] = None
    _refused(table, match="time column 'date' has empty cells at index 2")


@pytest.mark.parametrize(
    "broken",
    [
        "not a mapping",
        {"columns": []},
        {"channels": [{"name": "x", "kind": "numeric", "role": "series", "width": "1"}]},
        {"channels": [{"name": "x", "kind": "numeric", "role": "series", "width": 1}]},
        {"time": {"name": "date", "kind": "datetime", "dtype": "str", "starts": [], "interval": 1}},
        {"specs": [{"name": "x", "role": "series", "kind": "numeric", "dtype": "float64"}]},
        {"label": {"name": "y", "dtype": "int64", "classes": [[1]]}},
    ],
)
def test_a_malformed_stored_codec_is_refused(broken):
    stored = table_dataset(_visits(), _roles(), seq_len=6).codec.to_dict()
    if isinstance(broken, dict) and "columns" not in broken:
        broken = stored | broken
    with pytest.raises(InputError, match="checkpoint x"):
        TableCodec.from_dict(broken, "checkpoint x")
