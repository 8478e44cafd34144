# LeMeViT-tiny + BIT with 64-wide decoder heads, as the authors' released
# code builds every size (9.01 M parameters, 5.9 GMACs); the published
# tiny row (8.56 M) matches 8-wide heads, lemevit_t_bit_cdd.py.
_base_ = ['./lemevit_t_bit_cdd.py']
model = dict(decode_head=dict(dec_head_dim=64))
