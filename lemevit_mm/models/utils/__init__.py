from .attention import (ATTN_BACKEND_ENV, ATTN_BACKENDS,
                        multi_head_attention, resolve_attn_backend)

__all__ = ['ATTN_BACKEND_ENV', 'ATTN_BACKENDS', 'multi_head_attention',
           'resolve_attn_backend']
