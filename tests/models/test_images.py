"""Image models (issue 14): `handles image sizes 8x8, 224x224, 1024x768`, `handles grayscale`,
`handles rgba` against real small image models — scikit-learn's digits behind a front end that
resizes (passes) and one that reshapes to 8×8 (crashes on any other size) — and the image
transforms against Pillow."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import mlcontract
from mlcontract.errors import ContractError
from mlcontract.models import images

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def _resized_pixels(frame):
    """The front end of a model that resizes: any image → 8×8 gray, 0–16 as digits are."""
    rows = []
    for image in frame["image"]:
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 3:
            image = image[:, :, :3].mean(axis=2)
        small = Image.fromarray(image, mode="F").resize((8, 8), Image.Resampling.BILINEAR)
        rows.append(np.asarray(small).ravel() / 16.0)
    return np.vstack(rows)


def _reshaped_pixels(frame):
    """The front end of a model written for 8×8 digits only."""
    return np.stack(list(frame["image"])).reshape(len(frame), 64) / 16.0


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    pixels = np.rint(data.images * 255 / 16).astype(np.uint8)  # 8×8 uint8 images, 0–255
    frame = pl.DataFrame({"image": pixels, "digit": data.target})  # an Array(UInt8, shape=(8, 8)) column
    train, holdout = frame[:1400], frame[1400:]

    def fit(front):
        model = make_pipeline(FunctionTransformer(front), LogisticRegression(max_iter=2000))
        return model.fit(train.select("image").to_pandas().assign(
            image=list(train["image"].to_numpy())), train["digit"].to_numpy())

    return {"training": train, "holdout": holdout}, {"resizing": fit(_resized_pixels), "fixed": fit(_reshaped_pixels)}


def _run(lines: str, digits, **kwargs):
    datasets, models = digits
    return mlcontract.compile("label digit\n" + lines, datasets=datasets, models=models, **kwargs).run().checks


def test_a_model_that_resizes_handles_every_size_grayscale_and_rgba(digits):
    checks = _run("resizing handles image sizes 8x8, 224x224, 1024x768 rows 4\n"
                  "resizing handles grayscale in image rows 4\nresizing handles rgba in image rows 4\n"
                  "resizing accuracy on holdout >= 0.9\n", digits)
    assert [c.status for c in checks] == ["pass"] * 4, [c.message for c in checks]
    sizes = checks[0]
    assert sizes.feature == "image" and sizes.details["calls"] == 3 * (4 + 1)
    assert sizes.details["variants"] == ["8x8 images (arrays of shape (8, 8))", "224x224 images (arrays of shape (224, 224))",
                                         "1024x768 images (arrays of shape (768, 1024))"]
    assert checks[2].details["variants"] == ["RGBA images (arrays of shape (8, 8, 4))"]


def test_a_model_that_only_takes_8x8_fails_with_the_case_and_the_shape(digits):
    sizes, grayscale, rgba = _run("fixed handles image sizes 8x8, 224x224 rows 4\nfixed handles grayscale in image rows 4\n"
                                  "fixed handles rgba in image rows 4\n", digits)
    assert sizes.status == "fail" and sizes.value == 5  # 224x224: 4 alone + 1 batch; 8x8 passes
    assert sizes.message.startswith("224x224 images (arrays of shape (224, 224)) in `image`, sent alone: model `fixed` "
                                    "raised ValueError: cannot reshape array of size 50176 into shape (1,64)")
    assert sizes.details["row"]["image"] == "array of shape (224, 224), uint8"
    assert grayscale.status == "pass"  # 8×8 and 8×8×1 both reshape to 64
    assert rgba.status == "fail" and "(8, 8, 4)" in rgba.message and "size 256" in rgba.message


def test_images_from_a_parquet_file_of_nested_lists(tmp_path, digits):
    datasets, models = digits
    datasets["training"].with_columns(pl.col("image").arr.to_list().map_elements(
        lambda rows: [list(r) for r in np.asarray(rows).reshape(8, 8)], return_dtype=pl.List(pl.List(pl.UInt8)))
    ).write_parquet(tmp_path / "digits.parquet")
    text = 'dataset training = parquet("digits.parquet")\nlabel digit\nfixed handles image sizes 8x8, 16x8 rows 3\n'
    (check,) = mlcontract.compile(text, base_dir=tmp_path, models=models).run().checks
    assert check.status == "fail" and "16x8 images (arrays of shape (8, 16))" in check.message


def test_the_transforms_against_pillow():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(12, 20, 3), dtype=np.uint8)
    gray = images.grayscale(rgb)
    assert gray.shape == (12, 20) and gray.dtype == np.uint8
    assert np.abs(gray.astype(int) - np.asarray(Image.fromarray(rgb).convert("L")).astype(int)).max() <= 1
    assert np.array_equal(images.rgba(rgb)[:, :, :3], rgb) and (images.rgba(rgb)[:, :, 3] == 255).all()
    assert np.array_equal(images.rgba(gray)[:, :, 1], gray)
    assert images.rgba(np.full((2, 2), 0.5))[:, :, 3].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    big = images.resize(rgb, 40, 24)
    assert big.shape == (24, 40, 3) and big.dtype == np.uint8
    pillow = np.stack([np.asarray(Image.fromarray(rgb[:, :, c].astype(np.float32), mode="F")
                                  .resize((40, 24), Image.Resampling.BILINEAR)) for c in range(3)], axis=2)
    assert np.abs(big.astype(float) - pillow).max() <= 0.5
    assert np.array_equal(images.resize(np.full((5, 7), 9, dtype=np.uint8), 3, 2), np.full((2, 3), 9))
    with pytest.raises(ValueError, match="not an image: an array of shape"):
        images.pixels(np.zeros(5), "`image` in row 0")


def test_a_column_that_holds_no_images_is_a_diagnostic(digits):
    datasets, models = digits
    flat = datasets["training"].with_columns(pl.Series("image", datasets["training"]["image"].to_numpy()
                                                        .reshape(-1, 64)[:, :3].tolist()))
    # a List(UInt8) column is no image column: named explicitly, it is a diagnostic
    with pytest.raises(ContractError, match="needs a column of images; `image` is List"):
        mlcontract.compile("label digit\nfixed handles grayscale in image\n", datasets={"training": flat}, models=models)


@pytest.mark.parametrize("line,words", [
    ("fixed handles image sizes 0x8", "an image size is 1x1 to 4096x4096 pixels, not 0x8"),
    ("fixed handles image sizes 8x8, 8x8", "the size 8x8 is given twice"),
    ("fixed handles image sizes 5000x10", "an image size is 1x1 to 4096x4096 pixels, not 5000x10"),
    ("fixed handles image sizes 8x" + "9" * 5000, "an image size is 1x1 to 4096x4096 pixels, not a side of a billion "
                                                  "pixels or more"),
    ("fixed handles nulls 8x8 in image", "sizes belong to `handles image sizes`, not to `handles nulls`"),
    ("fixed handles image sizes", "`handles image sizes` needs the sizes to send"),
    ("fixed handles grayscale in digit_name", "unknown column `digit_name` in dataset `training`"),
])
def test_image_case_mistakes_are_located_diagnostics(digits, line, words):
    datasets, models = digits
    frame = datasets["training"].with_columns(pl.lit("x").alias("digit_name"))
    with pytest.raises(ContractError) as caught:
        mlcontract.compile("label digit\n" + line + "\n", datasets={"training": frame if "digit_name" not in line
                                                                   else datasets["training"]}, models=models)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == words and diagnostic.span.line == 2


def test_an_image_case_on_a_dataset_without_images_is_a_diagnostic(digits):
    _, models = digits
    frame = pl.DataFrame({"x": [1.0, 2.0], "digit": [0, 1]})
    with pytest.raises(ContractError) as caught:
        mlcontract.compile("label digit\nfixed handles rgba\n", datasets={"training": frame}, models=models)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == "`handles rgba` needs a column of images; dataset `training` has none"


def test_a_cell_that_is_no_image_is_an_error_naming_the_row():
    frame = pl.DataFrame({"image": [[[1, 2], [3, 4]], [[1, 2], [3]]], "digit": [0, 1]})  # the second is ragged
    anything = {"predict": lambda X: np.zeros(len(X), dtype=np.int64)}  # a model that takes any input
    (check,) = mlcontract.compile("label digit\nm handles rgba in image rows 2\n", datasets={"training": frame},
                                  models={"m": anything}).run().checks
    assert check.status == "error" and "`image` in row 1 of the base rows is not a rectangular array of pixels" \
        in check.message
