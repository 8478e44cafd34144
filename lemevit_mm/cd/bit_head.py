"""BIT: the bitemporal image transformer head for change detection.

Chen et al., "Remote Sensing Image Change Detection with Transformers"
(TGRS 2021), in the form the LeMeViT authors put it on their Siamese
backbone. The head works on the features that :class:`SiameseEncoderDecoder`
produces: every level holds date A in the first half of the batch and date
B in the second half.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.transformer import FFN
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor, nn


class TokenAttention(nn.Module):
    """Multi-head attention of the BIT transformer.

    The projections widen the tokens from ``dim`` to ``num_heads *
    head_dim`` (no bias) and the output projection narrows them back (with
    bias). As in the BIT release, the logits are scaled by ``dim ** -0.5``
    (the token width, not the head width) unless ``scale`` is given.

    Args:
        dim (int): Token width.
        num_heads (int): Number of heads. Defaults to 8.
        head_dim (int): Width of one head. Defaults to 64.
        scale (float, optional): Logit scale. Defaults to ``dim ** -0.5``.
    """

    def __init__(self, dim: int, num_heads: int = 8, head_dim: int = 64,
                 scale: Optional[float] = None) -> None:
        super().__init__()
        inner_dim = num_heads * head_dim
        self.num_heads = num_heads
        self.scale = dim**-0.5 if scale is None else scale
        self.to_q = nn.Linear(dim, inner_dim, bias=False)
        self.to_k = nn.Linear(dim, inner_dim, bias=False)
        self.to_v = nn.Linear(dim, inner_dim, bias=False)
        self.to_out = nn.Linear(inner_dim, dim)

    def _split(self, tokens: Tensor) -> Tensor:
        batch, length, _ = tokens.shape
        return tokens.view(batch, length, self.num_heads,
                           -1).transpose(1, 2)

    def forward(self, query: Tensor, memory: Tensor) -> Tensor:
        """Attend from ``query`` (B, N, dim) to ``memory`` (B, M, dim)."""
        q = self._split(self.to_q(query))
        k = self._split(self.to_k(memory))
        v = self._split(self.to_v(memory))
        out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        return self.to_out(out.transpose(1, 2).flatten(2))


class TokenEncoderLayer(nn.Module):
    """Pre-norm self-attention + MLP over the semantic tokens.

    Args:
        dim (int): Token width.
        num_heads (int): Number of heads.
        head_dim (int): Width of one head.
        mlp_channels (int): Hidden width of the MLP.
    """

    def __init__(self, dim: int, num_heads: int, head_dim: int,
                 mlp_channels: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = TokenAttention(dim, num_heads, head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = FFN(dim, mlp_channels, act_cfg=dict(type='GELU'),
                       add_identity=False)

    def forward(self, tokens: Tensor) -> Tensor:
        normed = self.norm1(tokens)
        tokens = tokens + self.attn(normed, normed)
        return tokens + self.ffn(self.norm2(tokens))


class PixelDecoderLayer(TokenEncoderLayer):
    """Pre-norm cross-attention (pixels query tokens) + MLP.

    The same LayerNorm normalises the pixels and the tokens, as in BIT.
    Arguments as :class:`TokenEncoderLayer`.
    """

    def forward(self, pixels: Tensor, tokens: Tensor) -> Tensor:
        pixels = pixels + self.attn(self.norm1(pixels), self.norm1(tokens))
        return pixels + self.ffn(self.norm2(pixels))


@MODELS.register_module()
class BITHead(BaseDecodeHead):
    """Bitemporal image transformer head.

    For each date: the chosen feature map is upsampled (nearest) by
    ``feature_upsample`` and reduced to ``channels`` by a 3x3 conv; a 1x1
    conv gives ``token_len`` spatial attention maps that pool it into
    semantic tokens. The tokens of both dates (plus a learned position
    embedding) pass a transformer encoder; then every pixel of a date
    queries its own date's tokens in a transformer decoder. The absolute
    difference of the two decoded maps is upsampled and classified by two
    3x3 convs (conv-BN-ReLU, then ``conv_seg``).

    Args:
        token_len (int): Semantic tokens per date. Defaults to 4.
        enc_depth (int): Encoder layers. Defaults to 1.
        dec_depth (int): Decoder layers. Defaults to 8.
        num_heads (int): Attention heads (encoder and decoder). Defaults
            to 8.
        enc_head_dim (int): Head width of the encoder. Defaults to 64.
        dec_head_dim (int): Head width of the decoder. Defaults to 64.
        mlp_channels (int): Hidden width of every MLP. Defaults to 64.
        feature_upsample (int): Nearest upsampling of the input map before
            the 3x3 reduction. Defaults to 2.
        output_upsample (tuple[int, int]): Upsampling of the difference
            map: nearest by the first factor, then bilinear
            (align_corners=True) by the second. Defaults to (2, 4), which
            with a stride-16 input and ``feature_upsample=2`` gives
            logits at the input resolution.
        decoder_pos_shape (tuple[int, int], optional): If set, a learned
            position embedding of this (H, W) size is added to the pixels
            before the decoder (the input must then have that size after
            ``feature_upsample``). The LeMeViT release uses none. Defaults
            to None.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``,
            ``channels`` = token width, ``num_classes``, ``in_index``,
            ``norm_cfg``, ``loss_decode``, ...).
    """

    def __init__(self,
                 token_len: int = 4,
                 enc_depth: int = 1,
                 dec_depth: int = 8,
                 num_heads: int = 8,
                 enc_head_dim: int = 64,
                 dec_head_dim: int = 64,
                 mlp_channels: int = 64,
                 feature_upsample: int = 2,
                 output_upsample: Tuple[int, int] = (2, 4),
                 decoder_pos_shape: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        kwargs.setdefault('dropout_ratio', 0.)
        super().__init__(**kwargs)
        if self.input_transform is not None:
            raise ValueError('BITHead reads one feature map; set in_index '
                             'to one level and input_transform=None.')
        dim = self.channels
        self.token_len = token_len
        self.feature_upsample = feature_upsample
        self.output_upsample = tuple(output_upsample)
        self.reduce = ConvModule(self.in_channels, dim, 3, padding=1,
                                 conv_cfg=self.conv_cfg, norm_cfg=None,
                                 act_cfg=None)
        self.token_attention = nn.Conv2d(dim, token_len, 1, bias=False)
        self.token_pos_embed = nn.Parameter(
            torch.randn(1, 2 * token_len, dim))
        self.encoder = nn.ModuleList(
            TokenEncoderLayer(dim, num_heads, enc_head_dim, mlp_channels)
            for _ in range(enc_depth))
        self.decoder = nn.ModuleList(
            PixelDecoderLayer(dim, num_heads, dec_head_dim, mlp_channels)
            for _ in range(dec_depth))
        if decoder_pos_shape is None:
            self.decoder_pos_embed = None
        else:
            self.decoder_pos_embed = nn.Parameter(
                torch.randn(1, dim, *decoder_pos_shape))
        self.classifier_conv = ConvModule(
            dim, dim, 3, padding=1, conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        # The last classifier layer is a 3x3 conv (BaseDecodeHead's 1x1
        # conv_seg replaced, so cls_seg and its init still apply).
        self.conv_seg = nn.Conv2d(dim, self.out_channels, 3, padding=1)

    def tokenize(self, feats: Tensor) -> Tensor:
        """Pool (B, C, H, W) maps into (B, token_len, C) tokens."""
        weights = self.token_attention(feats).flatten(2).softmax(dim=-1)
        return torch.einsum('bln,bcn->blc', weights, feats.flatten(2))

    def decode(self, feats: Tensor, tokens: Tensor) -> Tensor:
        """Let every pixel of ``feats`` (B, C, H, W) query ``tokens``."""
        if self.decoder_pos_embed is not None:
            if feats.shape[2:] != self.decoder_pos_embed.shape[2:]:
                raise ValueError(
                    f'decoder_pos_shape is '
                    f'{tuple(self.decoder_pos_embed.shape[2:])} but the '
                    f'decoder input is {tuple(feats.shape[2:])}; use '
                    'whole-image inputs of the training size or a slide '
                    'test_cfg with that crop size.')
            feats = feats + self.decoder_pos_embed
        batch, channels, height, width = feats.shape
        pixels = feats.flatten(2).transpose(1, 2)
        for layer in self.decoder:
            pixels = layer(pixels, tokens)
        return pixels.transpose(1, 2).reshape(batch, channels, height,
                                              width)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Change logits (B, out_channels, H, W) from features whose batch
        holds date A then date B."""
        feats = self._transform_inputs(inputs)
        if feats.shape[0] % 2:
            raise ValueError(
                'BITHead expects date A and date B stacked on the batch '
                f'axis (an even batch), got a batch of {feats.shape[0]}; '
                'use it inside SiameseEncoderDecoder.')
        if self.feature_upsample != 1:
            feats = F.interpolate(feats, scale_factor=self.feature_upsample,
                                  mode='nearest')
        feats = self.reduce(feats)
        tokens = self.tokenize(feats)
        tokens_a, tokens_b = tokens.chunk(2)
        tokens = torch.cat([tokens_a, tokens_b], dim=1) + self.token_pos_embed
        for layer in self.encoder:
            tokens = layer(tokens)
        # Back to date A then date B on the batch axis: both dates are
        # decoded in one pass (the decoder treats each sample on its own).
        tokens = torch.cat(tokens.chunk(2, dim=1))
        decoded_a, decoded_b = self.decode(feats, tokens).chunk(2)
        diff = torch.abs(decoded_a - decoded_b)
        nearest, bilinear = self.output_upsample
        if nearest != 1:
            diff = F.interpolate(diff, scale_factor=nearest, mode='nearest')
        if bilinear != 1:
            diff = F.interpolate(diff, scale_factor=bilinear,
                                 mode='bilinear', align_corners=True)
        return self.cls_seg(self.classifier_conv(diff))
