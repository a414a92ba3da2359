/* key: decoding, reading and making the pre-shared key. */
#include "daemon/key.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon/fileio.h"

int key_decode(const char *text, uint8_t key[static KEY_LEN])
{
        uint8_t buf[KEY_LEN + 8];
        size_t n = 0, len = strlen(text);
        const char *end = NULL;
        int r = 0;

        while (len > 0 && strchr(" \t\r\n", text[len - 1]))
                len--;
        while (len > 0 && strchr(" \t\r\n", text[0]))
                text++, len--;
        if (len == 0)
                return -EINVAL;
        if (sodium_base642bin(buf, sizeof(buf), text, len, NULL, &n, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 || end != text + len)
                r = len > KEY_TEXT_LEN + 8 ? -EMSGSIZE : -EINVAL;
        else if (n != KEY_LEN)
                r = -EMSGSIZE;
        else
                memcpy(key, buf, KEY_LEN);
        sodium_memzero(buf, sizeof(buf));
        return r;
}

int key_read_file(const char *path, bool check_mode, uint8_t key[static KEY_LEN])
{
        char buf[256];
        struct stat st;
        ssize_t n;
        int fd, r;

        fd = fileio_open(path, O_RDONLY, 0, 0);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (check_mode && (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH))) {
                r = -EPERM;
                goto out;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0) {
                r = -errno;
                goto out;
        }
        if ((size_t)n == sizeof(buf) - 1) {
                r = -EFBIG;
                goto out;
        }
        buf[n] = '\0';
        /* a NUL would end the text early: what follows it would go unread */
        r = memchr(buf, '\0', (size_t)n) ? -EINVAL : key_decode(buf, key);
out:
        sodium_memzero(buf, sizeof(buf));
        close(fd);
        return r;
}

void key_generate(char text[static KEY_TEXT_LEN + 1])
{
        uint8_t key[KEY_LEN];

        randombytes_buf(key, sizeof(key));
        sodium_bin2base64(text, KEY_TEXT_LEN + 1, key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
        sodium_memzero(key, sizeof(key));
}
