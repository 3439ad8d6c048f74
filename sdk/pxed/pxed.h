/*
 * pxed plugin SDK — the one header plugins include.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define __PXED_H_INSIDE__

#include <pxed/pxed-version.h>
#include <pxed/pxed-error.h>
#include <pxed/pxed-address.h>
#include <pxed/pxed-client.h>
#include <pxed/pxed-file.h>
#include <pxed/pxed-template.h>
#include <pxed/pxed-machine.h>
#include <pxed/pxed-boot.h>
#include <pxed/pxed-lease.h>
#include <pxed/pxed-instance.h>
#include <pxed/pxed-plugin.h>

#undef __PXED_H_INSIDE__
