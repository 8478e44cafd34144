"""WHU-CD and S2Looking datasets (LEVIR-CD+ has LEVIR-CD's layout and is
read by :class:`~.datasets.PairedLEVIRCDDataset`)."""
from mmseg.datasets import BaseCDDataset
from mmseg.registry import DATASETS

from .datasets import PairCheckMixin

CD_METAINFO = dict(classes=('unchanged', 'changed'),
                   palette=[[0, 0, 0], [255, 255, 255]])


@DATASETS.register_module()
class WHUCDDataset(PairCheckMixin, BaseCDDataset):
    """WHU-CD building change detection, as cut into 256x256 PNG tiles by
    BIT: ``A/``, ``B/``, ``label/`` (0/255) holding every tile and
    ``list/{train,val,test}.txt`` naming the tiles of each split
    (``ann_file``), with the pair and label checks of
    :class:`PairCheckMixin`."""
    METAINFO = CD_METAINFO

    def __init__(self, img_suffix: str = '.png', img_suffix2: str = '.png',
                 seg_map_suffix: str = '.png', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, img_suffix2=img_suffix2,
                         seg_map_suffix=seg_map_suffix, **kwargs)


@DATASETS.register_module()
class S2LookingDataset(PairCheckMixin, BaseCDDataset):
    """S2Looking (side-looking satellite pairs, 1024x1024 PNG):
    ``{train,val,test}/{Image1,Image2,label}`` (labels 0/255: any
    change; the ``label1``/``label2`` folders of new and demolished
    buildings are not used), with the checks of :class:`PairCheckMixin`.
    """
    METAINFO = CD_METAINFO

    def __init__(self, img_suffix: str = '.png', img_suffix2: str = '.png',
                 seg_map_suffix: str = '.png', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, img_suffix2=img_suffix2,
                         seg_map_suffix=seg_map_suffix, **kwargs)
