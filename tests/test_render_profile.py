"""Profile merge: the cases worked by hand from lodash ``mergeWith`` + Quarto's ``mergeArrayCustomizer``."""

from pathlib import Path

import pytest
import yaml

from ipsreport.render.profile import ProfileError, active_profiles, merge_project_metadata, read_project_config

ROOT = Path(__file__).resolve().parents[1]


def test_mappings_merge_recursively_and_scalars_are_replaced():
    base = {"project": {"type": "book", "output-dir": "_book"}, "format": {"typst": {"papersize": "a4"}}}
    overlay = {"project": {"type": "manuscript"}, "format": {"typst": {"fontsize": "12pt"}}}
    assert merge_project_metadata(base, overlay) == {
        "project": {"type": "manuscript", "output-dir": "_book"},
        "format": {"typst": {"papersize": "a4", "fontsize": "12pt"}},
    }
    assert base["project"]["type"] == "book"  # inputs untouched


def test_lists_concatenate_without_duplicates_so_a_profile_cannot_shorten_chapters():
    base = {"book": {"chapters": ["index.qmd", "a.qmd", "b.qmd"]}}
    overlay = {"book": {"chapters": ["b.qmd", "c.qmd"]}}
    assert merge_project_metadata(base, overlay)["book"]["chapters"] == ["index.qmd", "a.qmd", "b.qmd", "c.qmd"]


def test_scalar_beside_a_list_becomes_a_one_element_list():
    assert merge_project_metadata({"bibliography": "a.bib"}, {"bibliography": ["b.bib"]}) == {
        "bibliography": ["a.bib", "b.bib"]}
    assert merge_project_metadata({"x": ["a"]}, {"x": "b"}) == {"x": ["a", "b"]}


def test_falsy_side_of_a_list_merge_yields_the_other_side():
    # JavaScript falsiness: null, false, 0 and "" — but an empty list is truthy and concatenates.
    assert merge_project_metadata({"x": ["a"]}, {"x": None}) == {"x": ["a"]}
    assert merge_project_metadata({"x": ["a"]}, {"x": False}) == {"x": ["a"]}
    assert merge_project_metadata({"x": ""}, {"x": ["a"]}) == {"x": ["a"]}
    assert merge_project_metadata({"x": []}, {"x": 5}) == {"x": [5]}


def test_dedup_uses_json_text_with_integral_floats_as_integers():
    assert merge_project_metadata({"x": [1, {"a": 1}]}, {"x": [1.0, {"a": 1}, {"a": 2}]}) == {
        "x": [1, {"a": 1}, {"a": 2}]}


def test_contents_string_is_replaced_not_concatenated():
    assert merge_project_metadata({"sidebar": {"contents": "auto"}}, {"sidebar": {"contents": ["a.qmd"]}}) == {
        "sidebar": {"contents": ["a.qmd"]}}


def test_null_replaces_a_scalar_or_mapping_and_a_mapping_replaces_a_scalar():
    assert merge_project_metadata({"a": 1, "b": {"c": 1}}, {"a": None, "b": None}) == {"a": None, "b": None}
    assert merge_project_metadata({"a": "x"}, {"a": {"k": 1}}) == {"a": {"k": 1}}


def test_active_profiles_order_groups_and_defaults():
    cfg = {"profile": {"default": "draft", "group": [["basic", "advanced"]]}}
    assert active_profiles(None, cfg) == ["draft", "basic"]
    assert active_profiles("manuscript,advanced", cfg) == ["manuscript", "advanced"]
    assert active_profiles(None, cfg, {"QUARTO_PROFILE": "a b"}) == ["a", "b", "basic"]


def test_first_named_profile_wins_and_local_file_merges_last(tmp_path):
    (tmp_path / "_quarto.yml").write_text("title: base\nprofile:\n  default: one\n")
    (tmp_path / "_quarto-one.yml").write_text("title: one\nlist: [1]\n")
    (tmp_path / "_quarto-two.yaml").write_text("title: two\nlist: [2]\n")
    got = read_project_config(tmp_path, "one,two")
    assert got.config["title"] == "one" and got.config["list"] == [2, 1] and "profile" not in got.config
    assert got.files == ("_quarto-two.yaml", "_quarto-one.yml")
    (tmp_path / "_quarto.yml.local").write_text("title: local\n")
    assert read_project_config(tmp_path, "one").config["title"] == "local"
    assert read_project_config(tmp_path).profiles == ("one",)


def test_missing_named_profile_is_an_error(tmp_path):
    (tmp_path / "_quarto.yml").write_text("title: base\n")
    with pytest.raises(ProfileError, match="no _quarto-nope.yml"):
        read_project_config(tmp_path, "nope")


def test_the_projects_manuscript_profile_makes_a_manuscript_project_with_the_book_chapters_kept():
    got = read_project_config(ROOT, "manuscript").config
    assert got["project"]["type"] == "manuscript"
    assert got["manuscript"]["article"] == "manuscript.qmd"
    base = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    assert got["book"]["chapters"] == base["book"]["chapters"]  # lists concatenate: the profile leaves them
