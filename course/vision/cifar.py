"""CIFAR-10 through torchvision, for learners who have it: 32 x 32 RGB images in [0, 1] and their class.

The course never needs it (its models train on `course.vision.scenes`), and nothing is downloaded unless you
ask (`download=True`). `cifar10(root)` expects torchvision's layout, `root/cifar-10-batches-py/`, which is what
`torchvision.datasets.CIFAR10(root, download=True)` leaves; `$COURSE_CIFAR10` or `~/.cache/course/cifar10` is
the default root. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images" (2009).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from course.errors import CourseError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def default_root() -> Path:
    return Path(os.environ.get("COURSE_CIFAR10") or Path.home() / ".cache" / "course" / "cifar10")


def cifar10(root: str | os.PathLike | None = None, train: bool = True, download: bool = False, verify: bool = True):
    """torchvision's CIFAR-10 whose items are (image (3, 32, 32) float in [0, 1], label int).

    `verify=False` skips torchvision's md5 check of the files (for a locally made stand-in, as the tests use).
    """
    from torchvision import datasets, transforms

    root = Path(root or default_root())

    class CIFAR10(datasets.CIFAR10):
        def _check_integrity(self) -> bool:
            if verify:
                return super()._check_integrity()
            folder = Path(self.root) / self.base_folder
            return all((folder / name).is_file() for name, _ in self.train_list + self.test_list)

        def _load_meta(self) -> None:
            if verify:
                return super()._load_meta()
            path = Path(self.root) / self.base_folder / self.meta["filename"]
            if not path.is_file():
                raise RuntimeError(f"{path} not found")
            with open(path, "rb") as f:  # torchvision's format is pickle; only open files you trust
                self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    try:
        return CIFAR10(str(root), train=train, download=download, transform=transforms.ToTensor())
    except RuntimeError as e:
        raise CourseError(
            f"CIFAR-10 is not at {root / 'cifar-10-batches-py'} ({e}). The course doesn't need it; to use it, "
            f"download it once with `course.vision.cifar.cifar10('{root}', download=True)` on a machine that is "
            f"online, or point $COURSE_CIFAR10 at a folder holding cifar-10-batches-py/.") from None


def tensors(dataset, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n` items (all by default) as images (n, 3, 32, 32) in [0, 1] and labels (n,) int64."""
    n = len(dataset) if n is None else min(n, len(dataset))
    images = torch.from_numpy(dataset.data[:n]).permute(0, 3, 1, 2).float() / 255
    return images.contiguous(), torch.tensor(dataset.targets[:n], dtype=torch.long)
