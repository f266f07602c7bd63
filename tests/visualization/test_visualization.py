"""``polykeras.visualization`` on every engine: segmentation masks drawn as
Keras 3 draws them (same colours, blending, ignore index), boxes drawn as
rectangles of the given colour and thickness (labels -1 skipped, class
names written), and the three galleries saved to files with matplotlib."""

from __future__ import annotations

import os

import numpy as np
import pytest

from polykeras import ops, visualization

_RNG = np.random.default_rng(0)
_IMAGES = (_RNG.random((2, 16, 20, 3)) * 255).astype("float32")
_MASKS = _RNG.integers(-1, 3, (2, 16, 20, 1)).astype("int32")
_BOXES = {"boxes": np.array([[[2.0, 3.0, 12.0, 10.0], [5.0, 5.0, 9.0, 9.0]]] * 2, "float32"),
          "labels": np.array([[0, -1], [1, 0]], "int32")}


@pytest.mark.parametrize("kwargs", [{"num_classes": 3}, {"num_classes": 3, "alpha": 0.5, "ignore_index": 0},
                                    {"num_classes": 3, "blend": False},
                                    {"num_classes": 3, "color_mapping": {0: (255, 0, 0), 1: (0, 255, 0),
                                                                         2: (0, 0, 255)}}])
def test_draw_segmentation_masks_matches_keras(engine, kwargs):
    keras = pytest.importorskip("keras")
    expected = np.asarray(keras.visualization.draw_segmentation_masks(_IMAGES.copy(), _MASKS.copy(), **kwargs))
    actual = visualization.draw_segmentation_masks(ops.convert_to_tensor(_IMAGES), ops.convert_to_tensor(_MASKS),
                                                   **kwargs)
    np.testing.assert_allclose(np.asarray(actual, "float32"), expected.astype("float32"), atol=1.0)
    assert actual.dtype == (np.float32 if kwargs.get("blend") is False else np.uint8)
    cf = visualization.draw_segmentation_masks(_IMAGES.transpose(0, 3, 1, 2), _MASKS.transpose(0, 3, 1, 2),
                                               data_format="channels_first", **kwargs)
    np.testing.assert_array_equal(cf, actual)  # drawn channels-last, as Keras 3 returns them


def test_draw_bounding_boxes(engine):
    drawn = visualization.draw_bounding_boxes(ops.convert_to_tensor(np.zeros((2, 16, 20, 3), "float32")),
                                              {k: ops.convert_to_tensor(v) for k, v in _BOXES.items()}, "xyxy",
                                              color=(255, 0, 0), line_thickness=1)
    assert drawn.dtype == np.uint8 and drawn.shape == (2, 16, 20, 3)
    red = np.all(drawn == [255, 0, 0], axis=-1)
    expected = np.zeros((16, 20), bool)
    expected[3, 2:13] = expected[10, 2:13] = expected[3:11, 2] = expected[3:11, 12] = True
    np.testing.assert_array_equal(red[0], expected)  # the second box of image 0 has label -1: skipped
    assert red[1][5, 5:10].all() and red[1][3, 2:13].all()
    assert not red[0][5:9, 5:9].any()
    thick = visualization.draw_bounding_boxes(np.zeros((1, 16, 20, 3)), {"boxes": _BOXES["boxes"][:1, :1],
                                              "labels": _BOXES["labels"][:1, :1]}, "xyxy", color=(0, 255, 0))
    assert np.all(thick[0, 2:4, 4:11] == [0, 255, 0])  # a 2-pixel top edge
    named = visualization.draw_bounding_boxes(np.zeros((1, 32, 40, 3)), {"boxes": np.array([[[2., 14., 30., 30.]]]),
                                              "labels": np.array([[0]])}, "xyxy", class_mapping={0: "cat"},
                                              color=(0, 0, 255))
    assert np.any(named[0, :12, :, 2] > 0), "the class name is written above the box"
    rel = visualization.draw_bounding_boxes(np.zeros((1, 16, 20, 3)), {"boxes": np.array([[[0.1, 0.1875, 0.6,
                                            0.625]]]), "labels": np.array([[0]])}, "rel_xyxy", color=(255, 0, 0),
                                            line_thickness=1)
    np.testing.assert_array_equal(np.all(rel[0] == [255, 0, 0], axis=-1), expected)


def test_galleries_save_files(engine, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    paths = [str(tmp_path / f"{name}.png") for name in ("images", "boxes", "masks")]
    visualization.plot_image_gallery(ops.convert_to_tensor(_IMAGES), y_true=np.array([0, 1]),
                                     label_map={0: "a", 1: "b"}, path=paths[0])
    visualization.plot_bounding_box_gallery(_IMAGES, "xyxy", y_true=_BOXES, y_pred=_BOXES, class_mapping={0: "a"},
                                            legend=True, path=paths[1])
    visualization.plot_segmentation_mask_gallery(_IMAGES, 3, y_true=_MASKS, y_pred=_MASKS, path=paths[2])
    assert all(os.path.getsize(p) > 0 for p in paths)


def test_errors_name_the_function(engine):
    with pytest.raises(ValueError, match=r"draw_bounding_boxes.*rank 4.*\(16, 20, 3\)"):
        visualization.draw_bounding_boxes(_IMAGES[0], _BOXES, "xyxy")
    with pytest.raises(ValueError, match=r"draw_bounding_boxes.*'boxes' and 'labels'"):
        visualization.draw_bounding_boxes(_IMAGES, {"boxes": _BOXES["boxes"]}, "xyxy")
    with pytest.raises(TypeError, match=r"draw_segmentation_masks.*integer.*float32"):
        visualization.draw_segmentation_masks(_IMAGES, _MASKS.astype("float32"), 3)
    with pytest.raises(ValueError, match=r"plot_image_gallery.*label_map"):
        visualization.plot_image_gallery(_IMAGES, y_true=np.array([0, 1]), path="x.png")
