# LeMeViT-tiny + BIT with 8-wide decoder heads (BIT's "dd8_dedim8"
# variant). The authors' released code builds every size with 64-wide
# decoder heads (lemevit_t_bit_cdd.py, 9.01 M parameters); this variant is
# the closest one to the published tiny count (8.56 M): 8.55 M.
_base_ = ['./lemevit_t_bit_cdd.py']
model = dict(decode_head=dict(dec_head_dim=8))
