"""Image galleries with matplotlib (the ``visualization`` extra)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polykeras import config
from polykeras.visualization.drawing import _host, draw_bounding_boxes, draw_segmentation_masks

__all__ = ["plot_bounding_box_gallery", "plot_image_gallery", "plot_segmentation_mask_gallery"]


def _pyplot(who: str) -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(f"visualization.{who} needs matplotlib; install polykeras[visualization] "
                          "(pip install matplotlib).") from err
    return plt


def plot_image_gallery(images: Any, y_true: Any = None, y_pred: Any = None, label_map: Mapping | None = None,
                       rows: int | None = None, cols: int | None = None, value_range: Sequence[float] = (0, 255),
                       scale: float = 2, path: str | None = None, show: bool | None = None, transparent: bool = True,
                       dpi: int = 60, legend_handles: Any = None, data_format: str | None = None) -> None:
    """A ``rows x cols`` grid of the images (rescaled from ``value_range``),
    titled by ``label_map[y_true]`` / ``label_map[y_pred]``; saved to
    ``path`` or shown.

    Example:
        >>> plot_image_gallery(np.random.rand(4, 8, 8, 3) * 255, path="gallery.png")
    """
    plt = _pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("visualization.plot_image_gallery: expected either path or show=True, received both.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("visualization.plot_image_gallery: y_true or y_pred need a label_map, received "
                         "label_map=None.")
    show = path is None if show is None else show
    images = _host(images)
    images = images[None] if images.ndim == 3 else images
    if (data_format or config.image_data_format()) == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    batch = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch)))
    cols = cols or max(int(math.ceil(batch // rows)), 1)
    low, high = float(value_range[0]), float(value_range[1])
    images = (images.astype("float32") - low) / (high - low) * 255.0
    y_true = None if y_true is None else _host(y_true)
    y_pred = None if y_pred is None else _host(y_pred)
    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False,
                             layout="tight", squeeze=False)
    fig.subplots_adjust(wspace=0, hspace=0)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col]
            axis.axis("off")
            if index >= batch:
                continue
            axis.imshow(np.clip(images[index], 0, 255).astype("uint8"))
            axis.margins(x=0, y=0)
            title = []
            if y_true is not None and index < len(y_true):
                title.append(f"Label: {(label_map or {}).get(y_true[index].item(), 'Unknown')}")
            if y_pred is not None and index < len(y_pred):
                title.append(f"Pred: {(label_map or {}).get(y_pred[index].item(), 'Unknown')}")
            if title:
                axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close(fig)
    elif show:
        plt.show()
        plt.close(fig)


def plot_bounding_box_gallery(images: Any, bounding_box_format: str, y_true: Any = None, y_pred: Any = None,
                              value_range: Sequence[float] = (0, 255), true_color: Sequence[int] = (0, 188, 212),
                              pred_color: Sequence[int] = (255, 235, 59), line_thickness: int = 2,
                              font_scale: float = 1.0, text_thickness: int | None = None,
                              class_mapping: Mapping | None = None, ground_truth_mapping: Mapping | None = None,
                              prediction_mapping: Mapping | None = None, legend: bool = False,
                              legend_handles: Any = None, rows: int | None = None, cols: int | None = None,
                              data_format: str | None = None, **kwargs: Any) -> None:
    """A gallery of the images with ``y_true`` boxes (``true_color``) and
    ``y_pred`` boxes (``pred_color``) drawn on them.

    Example:
        >>> plot_bounding_box_gallery(images, "xyxy", y_true={"boxes": boxes, "labels": labels}, path="boxes.png")
    """
    _pyplot("plot_bounding_box_gallery")
    images = _host(images)
    if images.ndim != 4:
        raise ValueError(f"visualization.plot_bounding_box_gallery: expected a batch of images of rank 4, received "
                         f"shape {images.shape}.")
    if (data_format or config.image_data_format()) == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    drawn = images
    common: dict[str, Any] = {"bounding_box_format": bounding_box_format, "line_thickness": line_thickness,
              "text_thickness": text_thickness or 1, "font_scale": font_scale, "data_format": "channels_last"}
    if y_true is not None:
        drawn = draw_bounding_boxes(drawn, y_true, color=true_color,
                                    class_mapping=ground_truth_mapping or class_mapping, **common)
    if y_pred is not None:
        drawn = draw_bounding_boxes(drawn, y_pred, color=pred_color,
                                    class_mapping=prediction_mapping or class_mapping, **common)
    if legend:
        if legend_handles:
            raise ValueError("visualization.plot_bounding_box_gallery: pass legend or legend_handles, received both.")
        from matplotlib import patches

        legend_handles = [patches.Patch(color=_unit_rgb(true_color), label="Ground Truth"),
                          patches.Patch(color=_unit_rgb(pred_color), label="Prediction")]
    plot_image_gallery(drawn, value_range=value_range,
                       legend_handles=legend_handles, rows=rows, cols=cols, data_format="channels_last", **kwargs)


def plot_segmentation_mask_gallery(images: Any, num_classes: int, value_range: Sequence[float] = (0, 255),
                                   y_true: Any = None, y_pred: Any = None,
                                   color_mapping: Mapping | None = None, blend: bool = True, alpha: float = 0.8,
                                   ignore_index: int = -1, data_format: str | None = None, **kwargs: Any) -> None:
    """One row per image: the image, then its ``y_true`` and ``y_pred``
    masks drawn over it.

    Example:
        >>> plot_segmentation_mask_gallery(images, 3, y_true=masks, path="masks.png")
    """
    _pyplot("plot_segmentation_mask_gallery")
    images = _host(images)
    if images.ndim != 4:
        raise ValueError(f"visualization.plot_segmentation_mask_gallery: expected a batch of images of rank 4, "
                         f"received shape {images.shape}.")
    channels_first = (data_format or config.image_data_format()) == "channels_first"
    if channels_first:
        images = images.transpose(0, 2, 3, 1)
    draw: dict[str, Any] = {"num_classes": num_classes, "color_mapping": color_mapping, "alpha": alpha, "blend": blend,
            "ignore_index": ignore_index, "data_format": "channels_last"}
    drawn = []
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = _host(masks)
            masks = masks.transpose(0, 2, 3, 1) if channels_first else masks
            drawn.append(draw_segmentation_masks(images, masks.astype("int32"), **draw))
    gallery = []
    for i in range(images.shape[0]):
        gallery.append(images[i].astype("float32"))
        gallery += [d[i].astype("float32") for d in drawn]
    plot_image_gallery(np.stack(gallery, axis=0), value_range=value_range, rows=images.shape[0], cols=1 + len(drawn),
                       data_format="channels_last", **kwargs)


def _unit_rgb(color: Any) -> tuple[float, float, float]:
    """An RGB colour in [0, 255] as matplotlib's [0, 1] triple."""
    red, green, blue = (float(c) / 255.0 for c in list(color)[:3])
    return red, green, blue
