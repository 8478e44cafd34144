from .checkpoint import (load_weights, register_weights_only_loader,
                         select_state_dict, weights_only_load)

__all__ = ['load_weights', 'register_weights_only_loader',
           'select_state_dict', 'weights_only_load']
