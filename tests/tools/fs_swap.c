/* fs_swap.c - the attacker of test_fs.sh's race check: atomically exchanges two directory entries
 * (a real directory and a symbolic link to a directory outside the card) over and over with
 * renameat2(RENAME_EXCHANGE), so at every instant the path is one or the other, until SECONDS
 * have passed or a file named STOP_FILE exists. Prints "swaps N" at the end.
 *   fs_swap PATH_A PATH_B SECONDS STOP_FILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fs_swap PATH_A PATH_B SECONDS STOP_FILE\n");
        return 2;
    }
    time_t end = time(NULL) + atoi(argv[3]);
    long swaps = 0;
    while (time(NULL) < end) {
        for (int i = 0; i < 1000; i++) {
            if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
                perror("fs_swap: renameat2");
                return 1;
            }
            swaps++;
        }
        if (access(argv[4], F_OK) == 0)
            break;
    }
    /* an even count leaves both names as they were */
    if (swaps % 2 && renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) == 0)
        swaps++;
    printf("swaps %ld\n", swaps);
    return 0;
}
