"""``keras.preprocessing.image``: images as arrays (Pillow) and ``smart_resize``.

Example: ``x = img_to_array(load_img("cat.png", target_size=(224, 224)))``
"""

from polykeras.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]
