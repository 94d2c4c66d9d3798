"""Every map and picture reads for colour-blind people: checked by simulating the deficiencies.

Simulation: Machado, Oliveira & Fernandes (2009), severity 1, on linear sRGB. A sequential ramp
must keep its order of lightness under every simulation (the old red-yellow-green one put its
worst and best classes at nearly the same lightness: alike to a deuteranope); the station kinds
must stay apart from one another under every simulation.
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest

from geo.coverage.report import SHARE_CLASSES, SHARE_CMAP
from maps.pages import KIND_COLOURS

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}  # fmt: skip
SEEN_AS = [None, *MACHADO]
RDYLGN = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]  # the palette replaced


def _linear(colour: str) -> np.ndarray:
    rgb = np.array(matplotlib.colors.to_rgb(colour))
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _seen(colour: str, deficiency: str | None) -> np.ndarray:
    linear = _linear(colour)
    return linear if deficiency is None else np.clip(np.array(MACHADO[deficiency]) @ linear, 0, 1)


def _lightness(colour: str, deficiency: str | None) -> float:
    return float(np.dot([0.2126, 0.7152, 0.0722], _seen(colour, deficiency)))


def _ordered(ramp: list[str], deficiency: str | None) -> bool:
    light = [_lightness(c, deficiency) for c in ramp]
    return all(a < b for a, b in itertools.pairwise(light))


def test_the_share_classes_are_the_named_colour_map():
    cmap = matplotlib.colormaps[SHARE_CMAP]
    lower = 0.0
    for upper, colour in SHARE_CLASSES:
        assert matplotlib.colors.to_hex(cmap((lower + upper) / 2)) == colour
        lower = upper


@pytest.mark.parametrize("deficiency", SEEN_AS)
def test_the_share_ramp_keeps_its_order_for_everyone(deficiency):
    ramp = [colour for _, colour in SHARE_CLASSES]
    assert _ordered(ramp, deficiency)
    cmap = matplotlib.colormaps[SHARE_CMAP]
    assert _ordered([matplotlib.colors.to_hex(cmap(x)) for x in np.linspace(0, 1, 11)],
                    deficiency)  # fmt: skip


def test_the_replaced_ramp_fails_the_same_check():
    assert not _ordered(RDYLGN, None)
    assert not all(_ordered(RDYLGN, d) for d in MACHADO)


def _srgb(colour: str, deficiency: str | None) -> np.ndarray:
    linear = _seen(colour, deficiency)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return encoded * 255


@pytest.mark.parametrize("deficiency", SEEN_AS)
def test_station_kinds_stay_apart_for_everyone(deficiency):
    colours = list(KIND_COLOURS.values())
    assert len(set(colours)) == len(colours)
    closest = min(np.linalg.norm(_srgb(a, deficiency) - _srgb(b, deficiency))
                  for a, b in itertools.combinations(colours, 2))  # fmt: skip
    assert closest > 25  # the old set: 11 for a protanope (its two purples)
