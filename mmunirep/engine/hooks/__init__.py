# Copyright (c) mmunirep contributors. All rights reserved.
from .switch_to_deploy_hook import SwitchToDeployHook

__all__ = ['SwitchToDeployHook']
