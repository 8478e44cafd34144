from .checkpoint import (load_from_local_weights_only, load_weights,
                         register_weights_only_loader, select_state_dict)

__all__ = ['load_from_local_weights_only', 'load_weights',
           'register_weights_only_loader', 'select_state_dict']
