"""Images: how a model that takes images is fed, and the image robustness cases (docs/serving.md,
"Image models").

An image model's input is a dataset column of images: each cell an array of pixel values, height ×
width (grayscale) or height × width × channels (3: RGB, 4: RGBA), stored as nested lists (Polars
`List(List(...))`, `Array(UInt8, shape=(8, 8))`, a parquet list column, nested JSON arrays). The model
gets each cell as one NumPy array of that shape (`with_image_arrays`). The cases build variants of
the base rows' images (`variants`):

- `image sizes WxH, ...`: each image resized (Pillow, bilinear) to H rows × W columns, channels kept;
- `grayscale`: one channel, by ITU-R 601-2 luma (L = 0.299 R + 0.587 G + 0.114 B, Pillow's "L"),
  sent as H×W and as H×W×1;
- `rgba`: four channels, an opaque alpha channel added (a grayscale image repeated into RGB first).

Pixel values keep the reference's dtype (integers rounded, uint8 clipped to 0–255).
"""
from __future__ import annotations

from typing import Any

# The image cases, and the largest side a size may have (20 rows of 4096×4096×4 float64 is 10 GB).
IMAGE_CASES = ("image sizes", "grayscale", "rgba")
MAX_SIDE = 4096
_LUMA = (0.299, 0.587, 0.114)


def is_image_type(dtype_text: str) -> bool:
    """Whether a column's dtype (as the schema prints it) can hold images: nested lists or arrays."""
    import re

    text = dtype_text.replace(" ", "")
    if text.startswith(("List(List(", "List(Array(", "Array(List(", "Array(Array(")):
        return True
    shape = re.match(r"Array\(\w+,shape=\(([^)]*)\)\)$", text)  # `Array(UInt8, shape=(8, 8))`: 2-D or more
    return shape is not None and len([n for n in shape.group(1).split(",") if n]) >= 2


def with_image_arrays(frame, pandas_frame):
    """`pandas_frame` (frame.to_pandas()) with every image column (a Polars column of nested lists
    or arrays) turned into one NumPy array per cell; None stays None."""
    import numpy as np
    import pandas as pd

    for column in frame.columns:
        if not is_image_type(str(frame.schema[column])):
            continue
        dtype = _pixel_dtype(frame.schema[column])
        cells = np.empty(frame.height, dtype=object)
        for i, cell in enumerate(frame[column].to_list()):
            cells[i] = None if cell is None else _array(cell, dtype)
        pandas_frame[column] = pd.Series(cells, index=pandas_frame.index, dtype=object)
    return pandas_frame


def _pixel_dtype(dtype):
    """The NumPy dtype of the numbers inside a nested Polars List/Array type (uint8 stays uint8)."""
    import polars as pl

    while getattr(dtype, "inner", None) is not None:
        dtype = dtype.inner
    return pl.Series("pixels", [], dtype=dtype).to_numpy().dtype


def _array(cell, dtype):
    import numpy as np

    try:
        return np.asarray(cell, dtype=dtype)
    except (TypeError, ValueError):  # a null pixel, ragged rows: kept as they are, pixels() says what is wrong
        return np.asarray(cell, dtype=object)


def pixels(cell: Any, where: str):
    """A cell as a 2-D (H×W) or 3-D (H×W×1, 3 or 4 channels) NumPy array of numbers, or ValueError."""
    import numpy as np

    if cell is None:
        raise ValueError(f"{where} has no image (a null)")
    try:
        array = np.asarray(cell.tolist() if isinstance(cell, np.ndarray) and cell.dtype == object else cell)
    except ValueError:
        raise ValueError(f"{where} is not a rectangular array of pixels") from None
    if array.dtype.kind not in "uif" or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ValueError(f"{where} is not an image: an array of shape {array.shape} ({array.dtype}); "
                         "expected height × width or height × width × 1, 3 or 4 channels of numbers")
    if min(array.shape[:2]) == 0:
        raise ValueError(f"{where} is an empty image (shape {array.shape})")
    return array


def variants(case: str, images: list, sizes: tuple[str, ...]) -> list[tuple[str, list]]:
    """(variant name, one image per base row) for an image case. The name carries the shape sent."""
    if case == "image sizes":
        out = []
        for size in sizes:
            width, height = (int(n) for n in size.split("x"))
            resized = [resize(image, width, height) for image in images]
            out.append((f"{size} images (arrays of shape {_shapes(resized)})", resized))
        return out
    if case == "grayscale":
        flat = [grayscale(image) for image in images]
        with_axis = [image[:, :, None] for image in flat]
        return [(f"grayscale images (arrays of shape {_shapes(flat)})", flat),
                (f"grayscale images with a channel axis (arrays of shape {_shapes(with_axis)})", with_axis)]
    if case == "rgba":
        four = [rgba(image) for image in images]
        return [(f"RGBA images (arrays of shape {_shapes(four)})", four)]
    raise ValueError(f"unknown image case {case!r}")


def resize(image, width: int, height: int):
    """`image` resized to height × width (Pillow, bilinear), channels and dtype kept."""
    import numpy as np

    try:
        from PIL import Image
    except ImportError as error:
        from ..errors import CheckError

        raise CheckError("`handles image sizes` resizes images with Pillow: pip install 'mlcontract[images]'") from error
    channels = image[:, :, None] if image.ndim == 2 else image
    planes = [np.asarray(Image.fromarray(channels[:, :, c].astype(np.float32), mode="F")
                         .resize((width, height), Image.Resampling.BILINEAR)) for c in range(channels.shape[2])]
    out = np.stack(planes, axis=2)
    return _like(out if image.ndim == 3 else out[:, :, 0], image)


def grayscale(image):
    """One channel (H×W): the image itself when it has one, else ITU-R 601-2 luma of its RGB."""
    import numpy as np

    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    return _like(image[:, :, :3].astype(np.float64) @ np.asarray(_LUMA), image)


def rgba(image):
    """Four channels (H×W×4): RGB (a gray image repeated) and an opaque alpha channel."""
    import numpy as np

    rgb = image[:, :, :3] if image.ndim == 3 and image.shape[2] >= 3 else np.repeat(grayscale(image)[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4]
    else:
        alpha = np.full(rgb.shape[:2] + (1,), _opaque(image), dtype=rgb.dtype)
    return np.concatenate([rgb, alpha.astype(rgb.dtype)], axis=2)


def _opaque(image) -> float:
    """Full opacity in the image's scale: the integer type's maximum (255 for uint8), else 1.0 for
    floats in [0, 1] and 255.0 for other floats."""
    import numpy as np

    if image.dtype.kind in "ui":
        return 255 if image.dtype == np.uint8 or image.max() > 1 else 1
    return 1.0 if image.max() <= 1.0 else 255.0


def _like(values, image):
    """`values` in `image`'s dtype: integers rounded (and clipped to the type's range)."""
    import numpy as np

    if image.dtype.kind in "ui":
        info = np.iinfo(image.dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(image.dtype)
    return values.astype(image.dtype)


def _shapes(images: list) -> str:
    shapes = list(dict.fromkeys(tuple(int(n) for n in image.shape) for image in images))
    return ", ".join(str(s) for s in shapes[:3]) + (" …" if len(shapes) > 3 else "")
