"""Data locations: arguments, environment variables, image paths kept inside their folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uotviz.data.config import (
    MAX_ANNOTATIONS_BYTES,
    MAX_IMAGE_BYTES,
    ConfigError,
    DataConfig,
    check_upload_size,
    config_from,
    resolve_image,
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    annotations = tmp_path / "instances.json"
    annotations.write_text("{}")
    predictions = tmp_path / "detections.json"
    predictions.write_text("[]")
    images = tmp_path / "images"
    images.mkdir()
    return {"annotations": annotations, "predictions": predictions, "images": images}


def test_arguments_give_every_path(files):
    argv = ["--annotations", str(files["annotations"]), "--images", str(files["images"]),
            "--predictions", str(files["predictions"])]  # fmt: skip
    assert config_from(argv, {}) == DataConfig(
        files["annotations"], files["images"], files["predictions"]
    )


def test_equals_form_and_nothing_given(files):
    config = config_from([f"--annotations={files['annotations']}"], {})
    assert config == DataConfig(annotations=files["annotations"])
    assert config_from([], {}) == DataConfig()


def test_environment_is_the_fallback_and_arguments_win(files, tmp_path):
    other = tmp_path / "other.json"
    other.write_text("{}")
    environ = {
        "UOTVIZ_ANNOTATIONS": str(other),
        "UOTVIZ_IMAGES": str(files["images"]),
        "UOTVIZ_PREDICTIONS": "",  # empty counts as unset
    }
    config = config_from(["--annotations", str(files["annotations"])], environ)
    assert config == DataConfig(annotations=files["annotations"], images=files["images"])
    assert config_from([], environ).annotations == other


def test_relative_and_home_paths_become_absolute(files, monkeypatch):
    monkeypatch.chdir(files["annotations"].parent)
    assert config_from(["--annotations", "instances.json"], {}).annotations == files["annotations"]
    monkeypatch.setenv("HOME", str(files["annotations"].parent))
    assert config_from(["--annotations", "~/instances.json"], {}).annotations == Path(
        os.path.expanduser("~/instances.json")
    )


@pytest.mark.parametrize(
    ("argv", "environ", "match"),
    [
        (["--annotations", "/no/such.json"], {}, r"--annotations: file not found: /no/such\.json"),
        ([], {"UOTVIZ_IMAGES": "/no/such/dir"}, r"UOTVIZ_IMAGES: folder not found: /no/such/dir"),
        (["--predictions", "/no/p.npz"], {}, r"--predictions: file not found"),
        (["--annotation", "a.json"], {}, r"unknown argument\(s\): --annotation a\.json"),
        (["--annotations"], {}, r"bad arguments: argument --annotations: expected one argument"),
        (["extra"], {}, r"unknown argument\(s\): extra"),
    ],
)
def test_bad_arguments_are_named(argv, environ, match):
    with pytest.raises(ConfigError, match=match):
        config_from(argv, environ)


def test_a_folder_for_a_file_and_a_file_for_a_folder(files):
    with pytest.raises(ConfigError, match=r"--annotations: not a file"):
        config_from(["--annotations", str(files["images"])], {})
    with pytest.raises(ConfigError, match=r"--images: not a folder"):
        config_from(["--images", str(files["annotations"])], {})


def test_resolve_image_inside_the_folder(tmp_path):
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    assert resolve_image(images, "a.jpg") == (images / "a.jpg").resolve()
    assert resolve_image(images, "sub/b.jpg") == (images / "sub" / "b.jpg").resolve()
    assert resolve_image(images, "sub/../c.jpg") == (images / "c.jpg").resolve()


@pytest.mark.parametrize(
    ("file_name", "match"),
    [
        ("/etc/passwd", "absolute paths are not allowed"),
        ("../secret.jpg", "leads outside the images folder"),
        ("sub/../../secret.jpg", "leads outside the images folder"),
        ("", "empty"),
        ("a\x00.jpg", "NUL byte"),
    ],
)
def test_resolve_image_refuses_escapes(tmp_path, file_name, match):
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    with pytest.raises(ValueError, match=match):
        resolve_image(images, file_name)


def test_resolve_image_refuses_symlinks_pointing_outside(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"x")
    (images / "inside.jpg").write_bytes(b"y")
    (images / "link_out.jpg").symlink_to(secret)
    (images / "link_in.jpg").symlink_to(images / "inside.jpg")
    (images / "dir_out").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ValueError, match="leads outside"):
        resolve_image(images, "link_out.jpg")
    with pytest.raises(ValueError, match="leads outside"):
        resolve_image(images, "dir_out/secret.jpg")
    assert resolve_image(images, "link_in.jpg") == (images / "inside.jpg").resolve()


def test_upload_sizes():
    check_upload_size("a.json", MAX_ANNOTATIONS_BYTES)
    check_upload_size("a.jpg", 1, kind="image")
    with pytest.raises(ConfigError, match=r"a\.json: 200\.0 MB is over the 200 MB limit"):
        check_upload_size("a.json", MAX_ANNOTATIONS_BYTES + 1)
    with pytest.raises(ConfigError, match=r"big\.jpg: .* over the 50 MB limit for image uploads"):
        check_upload_size("big.jpg", MAX_IMAGE_BYTES + 1, kind="image")
    with pytest.raises(ConfigError, match="empty"):
        check_upload_size("a.json", 0)
    with pytest.raises(ValueError, match="kind='video'"):
        check_upload_size("a.mp4", 10, kind="video")
