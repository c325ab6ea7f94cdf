"""The CIFAR-10 loader on a tiny stand-in made here, in torchvision's on-disk format (pickled batches)."""

import pickle

import numpy as np
import pytest
import torch

from course.errors import CourseError
from course.vision import cifar

FILES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]


@pytest.fixture
def tiny(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(FILES):
        data = rng.integers(0, 256, (4, 3 * 32 * 32), dtype=np.uint8)
        data[0, :1024] = 255  # image 0 of each file: red channel full, green and blue as drawn
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": [i, (i + 1) % 10, 2, 3]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(cifar.CLASSES)}, f)
    return tmp_path


def test_loads_images_in_unit_range(tiny):
    train = cifar.cifar10(tiny, train=True, verify=False)
    test = cifar.cifar10(tiny, train=False, verify=False)
    assert len(train) == 20 and len(test) == 4
    image, label = train[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and label == 0
    assert torch.equal(image[0], torch.ones(32, 32)) and 0 <= image.min() and image.max() <= 1
    assert train[4][1] == 1 and test[1][1] == 6  # labels follow the files in order
    x, y = cifar.tensors(train, 6)
    assert x.shape == (6, 3, 32, 32) and torch.equal(x[0], image) and y.tolist() == [0, 1, 2, 3, 1, 2]
    assert train.classes == list(cifar.CLASSES)


def test_checks_files_and_says_what_to_do(tiny, tmp_path):
    with pytest.raises(CourseError, match="download=True"):
        cifar.cifar10(tiny, verify=True)  # torchvision's md5 check refuses the stand-in
    with pytest.raises(CourseError, match="doesn't need it"):
        cifar.cifar10(tmp_path / "nowhere", verify=False)
