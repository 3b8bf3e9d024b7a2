/* Injected faults inside net (cx_net_set_faults): private to net/.  The
 * fault list is global and static, so every query below is a pure function
 * of (device, port or destination, time): routing around a fault needs no
 * state from other ranks and stays rank-count-invariant. */
#ifndef CX_NET_FAULTS_H
#define CX_NET_FAULTS_H

#include "cx_net.h"

typedef struct cx_net_faults cx_net_faults_t;

cx_status_t cx_net_faults_create(cx_net_faults_t **nf_p, const cx_topo_t *topo, const cx_net_fault_t *f, size_t n,
                                 cx_err_t *err);
void        cx_net_faults_destroy(cx_net_faults_t *nf);
/* Does a fault ever hit (dev, port)? */
int         cx_net_faults_hits(const cx_net_faults_t *nf, uint64_t dev, uint32_t port);
/* Serialization time `ser` on (dev, port) at `now`, stretched by the
 * degradations in force. */
cx_time_t   cx_net_faults_ser(cx_net_faults_t *nf, uint64_t dev, uint32_t port, cx_time_t ser, cx_time_t now);
/* Keep the equal-cost ports of d toward dst_dev that are up at `now` and
 * lead somewhere dst_dev can still be reached from; returns how many are
 * left (in ports[0..]), or n unchanged if none would be. */
uint32_t    cx_net_faults_filter(cx_net_faults_t *nf, const cx_net_dev_t *d, uint64_t dst_dev, uint32_t *ports,
                                 uint32_t n, cx_time_t now);
cx_time_t   cx_net_faults_extra(const cx_net_faults_t *nf, uint64_t dev, uint32_t port);

#endif
