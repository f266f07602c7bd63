"""``keras.visualization``: draw boxes and segmentation masks onto images
(NumPy on the host, whatever the engine; box labels are written with Pillow)
and plot galleries of them (matplotlib, the ``visualization`` extra,
imported only when a gallery is plotted)."""

from polykeras.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks
from polykeras.visualization.gallery import (
    plot_bounding_box_gallery, plot_image_gallery, plot_segmentation_mask_gallery,
)

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery", "plot_image_gallery",
           "plot_segmentation_mask_gallery"]
