/* placeholder */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H
#endif
